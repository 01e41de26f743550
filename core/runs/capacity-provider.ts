import * as z from 'zod';

/** The Fargate capacity a run's task runs on (the execution input asks, the run record's automatic resumes may move it). */
export const CapacityProvider = z.enum(['FARGATE', 'FARGATE_SPOT']);
export type CapacityProvider = z.infer<typeof CapacityProvider>;
