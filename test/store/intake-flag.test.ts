import { createStore } from '../../adapters/dynamodb';
import { startDynalite, type DynaliteHarness } from '../support/dynalite';

describe('intake flag', () => {
  let db: DynaliteHarness;
  beforeAll(async () => {
    db = await startDynalite();
  });
  afterAll(async () => {
    await db.stop();
  });

  it('Given a fresh platform, Then intake is open; When the spend breaker pauses it, Then it reads back paused with the reason and time; When it is reopened, Then it reads open', async () => {
    const { intake } = createStore(db.doc, db.names, { now: () => new Date('2030-05-01T10:00:00.000Z') });
    // Given a fresh platform, intake is open
    expect(await intake.get()).toEqual({ paused: false, reason: null, at: null });
    // When the spend breaker pauses it
    await intake.set(true, 'daily spend alarm');
    // Then it reads back paused with the reason and time, and reopens
    expect(await intake.get()).toEqual({ paused: true, reason: 'daily spend alarm', at: '2030-05-01T10:00:00.000Z' });
    await intake.set(false, null);
    expect(await intake.get()).toEqual({ paused: false, reason: null, at: '2030-05-01T10:00:00.000Z' });
  });
});
