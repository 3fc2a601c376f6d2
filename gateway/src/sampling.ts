/**
 * When each charger's next telemetry sample is due: one sample per key per period, on a wheel of
 * `slotMs` slots turned by one timer. A timer per charger spread the samples too, but woke the event
 * loop for each one, so every sample left in a socket write of its own (10,000 a second at 10,000
 * chargers); here the samples of a slot are published together and leave in one write. A key is due
 * one period after it was last scheduled, up to one slot early.
 */
export class SampleWheel {
  private readonly slots: Set<string>[]
  private readonly slotOf = new Map<string, number>()
  /** Slots turned since the start; the slot last turned is `turned % slots.length`. */
  private turned = 0
  private readonly startedAt: number
  private readonly timer: NodeJS.Timeout

  constructor(
    periodMs: number,
    private readonly due: (key: string) => void,
    private readonly slotMs = 20,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.slots = Array.from({ length: Math.max(1, Math.round(periodMs / slotMs)) }, () => new Set())
    this.startedAt = clock()
    this.timer = setInterval(() => this.turn(), slotMs)
  }

  /** `key` is due one period from now (replacing when it was due before). */
  schedule(key: string): void {
    this.cancel(key)
    const slot = this.turned % this.slots.length
    this.slots[slot]?.add(key)
    this.slotOf.set(key, slot)
  }

  cancel(key: string): void {
    const slot = this.slotOf.get(key)
    if (slot === undefined) return
    this.slots[slot]?.delete(key)
    this.slotOf.delete(key)
  }

  stop(): void {
    clearInterval(this.timer)
    for (const slot of this.slots) slot.clear()
    this.slotOf.clear()
  }

  /** Turns every slot whose time has come: after a stalled event loop, the ones missed too. */
  private turn(): void {
    const target = Math.floor((this.clock() - this.startedAt) / this.slotMs)
    // A stall longer than a period is caught up once round the wheel, not once per period missed.
    this.turned = Math.max(this.turned, target - this.slots.length)
    while (this.turned < target) {
      this.turned++
      const index = this.turned % this.slots.length
      const keys = this.slots[index] as Set<string>
      // `due` usually schedules the key again, into this same slot: a new set, turned a period later.
      this.slots[index] = new Set()
      for (const key of keys) {
        this.slotOf.delete(key)
        this.due(key)
      }
    }
  }
}
