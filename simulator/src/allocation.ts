/** One connector asking for power in a sample. */
export interface PowerRequest {
  /** Unique across the site, e.g. `zn-super/1`. */
  key: string
  /** The power cabinet (station) whose modules feed the connector. */
  cabinet: string
  /** 0 is served first and trimmed last. */
  priority: number
  /** Most the gun could deliver to this vehicle (power rating, derated current × voltage), W. */
  gunLimitW: number
  /** What the vehicle would take: at most `gunLimitW`, W. */
  requestW: number
}

/** What a connector gets. */
export interface Grant {
  /** The limit the charger offers the vehicle, W. */
  offeredW: number
  /** Power actually delivered, W: never above the request or the offer. */
  allocatedW: number
}

export interface AllocationLimits {
  /** Output power each cabinet can deliver, W. */
  cabinetW: ReadonlyMap<string, number>
  /** Grid power left for conversion after every other load on the site, W. */
  gridBudgetW: number
  /** Grid watts one delivered watt costs at each cabinet (1 / its worst efficiency), so the budget holds. */
  gridCostPerW: ReadonlyMap<string, number>
}

// Max-min fair share of `available` among requests: everyone gets min(request, level). Returns
// Infinity when every request fits.
function waterLevel(requests: readonly number[], available: number): number {
  const sorted = [...requests].sort((a, b) => a - b)
  let remaining = available
  for (let i = 0; i < sorted.length; i++) {
    const share = remaining / (sorted.length - i)
    const request = sorted[i] as number
    if (request > share) return share
    remaining -= request
  }
  return Number.POSITIVE_INFINITY
}

/**
 * Shares cabinet and grid capacity among the connectors that want power. Priorities are served in
 * order (the supercharging gun before the fast guns): each tier shares what its cabinets have left
 * equally (max-min fair), then, if the tier would push the site past its grid budget, the whole tier
 * is trimmed proportionally — so a tight grid trims the lowest-priority guns first.
 */
export function allocate(requests: readonly PowerRequest[], limits: AllocationLimits): Map<string, Grant> {
  const grants = new Map<string, Grant>()
  const cabinetLeft = new Map(limits.cabinetW)
  let gridLeftW = Math.max(0, limits.gridBudgetW)
  const costOf = (r: PowerRequest) => limits.gridCostPerW.get(r.cabinet) ?? 1

  const tiers = [...new Set(requests.map((r) => r.priority))].sort((a, b) => a - b)
  for (const priority of tiers) {
    const tier = requests.filter((r) => r.priority === priority)
    for (const cabinet of new Set(tier.map((r) => r.cabinet))) {
      const members = tier.filter((r) => r.cabinet === cabinet)
      const available = Math.max(0, cabinetLeft.get(cabinet) ?? 0)
      const level = waterLevel(
        members.map((r) => r.requestW),
        available,
      )
      const allocated = members.map((r) => Math.min(r.requestW, level))
      const slack = available - allocated.reduce((a, b) => a + b, 0)
      members.forEach((r, i) => {
        const allocatedW = allocated[i] as number
        // A connector below the fair level could still rise to it, or take whatever is left unused.
        const reachable = Number.isFinite(level) ? level : allocatedW + slack
        grants.set(r.key, { allocatedW, offeredW: Math.min(r.gunLimitW, Math.max(allocatedW, reachable)) })
      })
    }

    const tierCostW = tier.reduce((sum, r) => sum + (grants.get(r.key)?.allocatedW ?? 0) * costOf(r), 0)
    const scale = tierCostW > gridLeftW ? gridLeftW / tierCostW : 1
    const gridSlackW = gridLeftW - tierCostW * scale
    for (const r of tier) {
      const grant = grants.get(r.key) as Grant
      grant.allocatedW *= scale
      grant.offeredW = Math.min(grant.offeredW, grant.allocatedW + gridSlackW / costOf(r))
      cabinetLeft.set(r.cabinet, (cabinetLeft.get(r.cabinet) ?? 0) - grant.allocatedW)
    }
    gridLeftW = Math.max(0, gridLeftW - tierCostW * scale)
  }
  return grants
}
