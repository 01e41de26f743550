/** A requester's review places: the port the domain calls; adapters/dynamodb/review-places.ts implements it. */
export interface ReviewPlaces {
  places: string[];
  /** 0 when the item does not exist yet. */
  version: number;
}

export interface ReviewPlacesPort {
  read(requester: string): Promise<ReviewPlaces>;
  /** Replaces the places if nobody wrote since `version`; false when a competing write came first. */
  write(requester: string, places: readonly string[], version: number): Promise<boolean>;
  /** Gives one run's place back (it was not admitted after all). */
  release(requester: string, runId: string): Promise<void>;
}
