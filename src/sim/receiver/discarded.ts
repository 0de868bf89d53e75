/** A transfer that arrived whole but that the receiver node dropped, for loss reports. */
export interface Discarded {
  /** Transfer number on the link. */
  number: number;
  /** `corrupt` when its content did not make sense, else `discarded`. */
  kind: 'corrupt' | 'discarded';
  /** Why, in a sentence. */
  reason: string;
}
