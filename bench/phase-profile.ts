// Profiling the local gateways over one measured phase (a chat run's measured window, a
// backlog's drain, a storm's reconnects) through each gateway's inspector on loopback:
// V8's sampling heap profiler (`hushwire bench --heap-sample DIR`, heap-sample.ts) and
// its CPU profiler (`--cpu-prof DIR`, profile-summary.ts), on one session per gateway.
// Both start and stop exactly at the phase's ends, and both profiles' positions are
// mapped back to the .ts source lines (inspector.ts, toSourcePositions).
//
// Why not `node --cpu-prof` / `--heap-prof`: they cover the whole process life (start-up,
// set-up, the other workloads' phases) and are written only at exit; their positions
// are those of the JavaScript tsx made, one line per module ("relay/session.ts:1").
import { InspectorSession, toSourcePositions, type CallFrame } from './inspector.ts';
import type { HeapNode, HeapProfile } from './heap-sample.ts';
import type { CpuProfile } from './profile-summary.ts';

export interface PhaseProfileOptions {
  /** Sample allocations, one sample per this many bytes on average. */
  heapIntervalBytes?: number;
  /** Sample the main thread's stack, once per this many µs. */
  cpuIntervalUs?: number;
}

/** What stop() gives: one profile per process, in the order of the URLs; null for what
 *  was not asked for. */
export interface PhaseProfiles {
  heap: HeapProfile[] | null;
  cpu: CpuProfile[] | null;
}

/** The CPU sampling interval of `node --cpu-prof` (its --cpu-prof-interval default). */
export const CPU_INTERVAL_US = 1000;

/** Profilers running in every process behind `urls`, from start() until stop() (a
 *  session kept open throughout: closing it would end them). */
export class PhaseProfiler {
  readonly #sessions: InspectorSession[];
  readonly #o: PhaseProfileOptions;
  #stopped: Promise<PhaseProfiles> | null = null;

  private constructor(sessions: InspectorSession[], o: PhaseProfileOptions) {
    this.#sessions = sessions;
    this.#o = o;
  }

  static async start(urls: readonly string[], o: PhaseProfileOptions): Promise<PhaseProfiler> {
    const sessions: InspectorSession[] = [];
    try {
      for (const u of urls) sessions.push(await InspectorSession.open(u));
      for (const s of sessions) {
        if (o.heapIntervalBytes !== undefined) {
          await s.call('HeapProfiler.enable');
          await s.call('HeapProfiler.startSampling', {
            samplingInterval: o.heapIntervalBytes, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true,
          });
        }
        if (o.cpuIntervalUs !== undefined) {
          await s.call('Profiler.enable');
          await s.call('Profiler.setSamplingInterval', { interval: o.cpuIntervalUs });
          await s.call('Profiler.start');
        }
      }
    } catch (e) {
      for (const s of sessions) s.close();
      throw e;
    }
    return new PhaseProfiler(sessions, o);
  }

  /** Stops every profiler and maps the positions to source lines; once (later calls get
   *  the same). The sessions are closed whatever happens. */
  stop(): Promise<PhaseProfiles> {
    this.#stopped ??= (async () => {
      try {
        const heap: HeapProfile[] = [];
        const cpu: CpuProfile[] = [];
        for (const s of this.#sessions) {
          // Both stopped first: the mapping (Debugger.enable) is not part of the phase.
          const h = this.#o.heapIntervalBytes === undefined ? null : ((await s.call('HeapProfiler.stopSampling')) as { profile: HeapProfile }).profile;
          const c = this.#o.cpuIntervalUs === undefined ? null : ((await s.call('Profiler.stop')) as { profile: CpuProfile }).profile;
          const frames: CallFrame[] = [];
          if (h !== null) {
            const walk = (n: HeapNode): void => { frames.push(n.callFrame); for (const k of n.children) walk(k); };
            walk(h.head);
            heap.push(h);
          }
          if (c !== null) {
            for (const n of c.nodes) frames.push(n.callFrame);
            cpu.push(c);
          }
          const mapped = await toSourcePositions(s, frames);
          // A CPU node's line ticks are lines of the script V8 ran (all line 1 under tsx)
          // and carry no column to map: dropped where the function was mapped, or a
          // viewer would put them on the wrong lines of the .ts file.
          if (c !== null) for (const n of c.nodes) if (mapped.has(n.callFrame)) delete n.positionTicks;
        }
        return { heap: this.#o.heapIntervalBytes === undefined ? null : heap, cpu: this.#o.cpuIntervalUs === undefined ? null : cpu };
      } finally {
        for (const s of this.#sessions) s.close();
      }
    })();
    return this.#stopped;
  }
}
