// Errors of the dataset loaders. Messages are meant to be shown as they are (CLI, extension).
import type { Adaptation } from './adapt';

/** A dataset that cannot be read or built: bad file, bad spec, too large. */
export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

/**
 * The data does not fit the model. `offers` is the set of adaptations that together make it fit (empty
 * when no well-defined one does); `alternatives` are steps that may replace one of them (resize for pad).
 */
export class DatasetMismatchError extends DatasetError {
  readonly offers: Adaptation[];
  readonly alternatives: Adaptation[];
  constructor(message: string, offers: Adaptation[], alternatives: Adaptation[] = []) {
    super(message);
    this.name = 'DatasetMismatchError';
    this.offers = offers;
    this.alternatives = alternatives;
  }
}
