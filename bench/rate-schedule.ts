// Fixed-rate mode's send schedule for one generator thread (`--rate`).
//
// Every sender sends at the same rate, one slot every `periodMs`; sender j's slot k is
// due at start + (k + phase_j) × periodMs, its phase in [0, 1) a golden-ratio spread over
// the sender index (bench/worker.ts), so the senders do not all fire in the same
// millisecond. Because every sender has the same period and a phase below one slot,
// the thread's slots in order of their intended time are a round robin: round k visits
// the senders in order of phase, and round k + 1 starts after round k has ended. So
// one cursor (round, position in the phase order) walks them: each 1 ms tick emits the
// slots that have come due since the last one, in intended-time order, in time
// proportional to the slots emitted, not to the number of senders. (The tick used to
// look at every sender, through two Map lookups each: ~1 ms of CPU per second per
// thread of 100 senders whatever the rate, 0.05 µs per message at 40,000 msg/s, 1 µs at
// 2,000; measured alone, this is ~0.01 µs per message. Not where the generator's cost
// per message goes: docs/BENCHMARKS.md, Method, fixed-rate mode.)
//
// The intended time of a slot is computed as it always was, start + (k + phase) /
// perMs, so the same slots carry the same intended times. `before(until)` emits the
// slots due before the end of sending that no tick reached (the last tick fires up to a
// tick before the end, later on a busy thread): those slots are in the measured window
// and used never to be sent. Pure, no timers.

export type EmitSlot = (sender: number, slot: number, intended: number) => void;

export class RateSchedule {
  readonly #start: number;
  readonly #perMs: number;
  /** Sender indexes (as given to the constructor) in order of phase. */
  readonly #order: Int32Array;
  /** Phase of each sender, in the same order. */
  readonly #phase: Float64Array;
  #round = 0;
  #at = 0;
  #next: number;

  /** `perMs`: slots per millisecond per sender; `phases[i]` the phase (in [0, 1)) of
   *  sender i. Slot k of sender i is intended at start + (k + phases[i]) / perMs. */
  constructor(start: number, perMs: number, phases: readonly number[]) {
    if (!(perMs > 0)) throw new RangeError('the rate must be above 0');
    for (const p of phases) if (!(p >= 0 && p < 1)) throw new RangeError('a phase must be in [0, 1)');
    this.#start = start;
    this.#perMs = perMs;
    const order = phases.map((_, i) => i).sort((a, b) => phases[a]! - phases[b]! || a - b);
    this.#order = Int32Array.from(order);
    this.#phase = Float64Array.from(order, (i) => phases[i]!);
    this.#next = order.length === 0 ? Infinity : this.#intended(0, 0);
  }

  #intended(round: number, at: number): number {
    return this.#start + (round + this.#phase[at]!) / this.#perMs;
  }

  /** The intended time of the next slot not emitted yet (Infinity without senders). */
  get next(): number {
    return this.#next;
  }

  /** Emits every slot not emitted yet whose intended time is at or before `now`, in
   *  order of intended time (slot order per sender); returns how many. */
  upTo(now: number, emit: EmitSlot): number {
    let n = 0;
    while (this.#next <= now) {
      this.#emitNext(emit);
      n++;
    }
    return n;
  }

  /** Emits every slot not emitted yet whose intended time is before `until` (the end
   *  of sending: a slot intended exactly then is not sent); returns how many. */
  before(until: number, emit: EmitSlot): number {
    let n = 0;
    while (this.#next < until) {
      this.#emitNext(emit);
      n++;
    }
    return n;
  }

  #emitNext(emit: EmitSlot): void {
    const intended = this.#next;
    emit(this.#order[this.#at]!, this.#round, intended);
    if (++this.#at === this.#order.length) {
      this.#at = 0;
      this.#round++;
    }
    this.#next = this.#intended(this.#round, this.#at);
  }
}
