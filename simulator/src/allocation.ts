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
  /** Output power each cabinet can deliver now, W. */
  cabinetW: ReadonlyMap<string, number>
  /** Rating of one power module of the cabinets that switch whole modules to guns, W. */
  moduleW?: ReadonlyMap<string, number>
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

// Continuous sharing (no modules): max-min fair. Returns the capacity the members took.
function shareContinuously(
  members: readonly PowerRequest[],
  available: number,
  grants: Map<string, Grant>,
): number {
  const level = waterLevel(
    members.map((r) => r.requestW),
    available,
  )
  const allocated = members.map((r) => Math.min(r.requestW, level))
  const used = allocated.reduce((a, b) => a + b, 0)
  const slack = available - used
  members.forEach((r, i) => {
    const allocatedW = allocated[i] as number
    // A connector below the fair level could still rise to it, or take whatever is left unused.
    const reachable = Number.isFinite(level) ? level : allocatedW + slack
    grants.set(r.key, { allocatedW, offeredW: Math.min(r.gunLimitW, Math.max(allocatedW, reachable)) })
  })
  return used
}

// Whole modules, dealt one at a time to the members that still need one (a module matrix switches
// modules, not watts). A module is used by one gun even when the gun needs only part of it, so a
// gun at 450 kW holds twelve 40 kW modules. Returns the capacity the members took.
function shareModules(
  members: readonly PowerRequest[],
  available: number,
  moduleW: number,
  grants: Map<string, Grant>,
): number {
  let free = Math.floor(available / moduleW + 1e-9)
  const needs = members.map((r) => Math.ceil(r.requestW / moduleW - 1e-9))
  const held = members.map(() => 0)
  for (let dealt = true; dealt && free > 0;) {
    dealt = false
    for (let i = 0; i < members.length && free > 0; i++) {
      if ((held[i] as number) < (needs[i] as number)) {
        held[i] = (held[i] as number) + 1
        free--
        dealt = true
      }
    }
  }
  let used = 0
  members.forEach((r, i) => {
    const capacityW = (held[i] as number) * moduleW
    used += capacityW
    const allocatedW = Math.min(r.requestW, capacityW)
    // A satisfied gun could also take the modules nobody needed.
    const reachableW = allocatedW < r.requestW ? capacityW : capacityW + free * moduleW
    grants.set(r.key, { allocatedW, offeredW: Math.min(r.gunLimitW, reachableW) })
  })
  return used
}

/**
 * Shares cabinet and grid capacity among the connectors that want power. Priorities are served in
 * order (the supercharging gun before the fast guns): each tier shares what its cabinets have left —
 * max-min fair in watts, or module by module in cabinets built of modules — then, if the tier would
 * push the site past its grid budget, the whole tier is trimmed proportionally, so a tight grid
 * trims the lowest-priority guns first.
 */
export function allocate(requests: readonly PowerRequest[], limits: AllocationLimits): Map<string, Grant> {
  const grants = new Map<string, Grant>()
  const cabinetUsed = new Map<string, number>()
  let gridLeftW = Math.max(0, limits.gridBudgetW)
  const costOf = (r: PowerRequest) => limits.gridCostPerW.get(r.cabinet) ?? 1

  // Grouped once: a city-scale run has tens of thousands of requests in thousands of cabinets.
  const tiers = new Map<number, Map<string, PowerRequest[]>>()
  for (const r of requests) {
    let cabinets = tiers.get(r.priority)
    if (!cabinets) tiers.set(r.priority, (cabinets = new Map()))
    const members = cabinets.get(r.cabinet)
    if (members) members.push(r)
    else cabinets.set(r.cabinet, [r])
  }

  for (const priority of [...tiers.keys()].sort((a, b) => a - b)) {
    const cabinets = tiers.get(priority) as Map<string, PowerRequest[]>
    let tierCostW = 0
    for (const [cabinet, members] of cabinets) {
      const available = Math.max(0, (limits.cabinetW.get(cabinet) ?? 0) - (cabinetUsed.get(cabinet) ?? 0))
      const moduleW = limits.moduleW?.get(cabinet)
      const used =
        moduleW === undefined
          ? shareContinuously(members, available, grants)
          : shareModules(members, available, moduleW, grants)
      cabinetUsed.set(cabinet, (cabinetUsed.get(cabinet) ?? 0) + used)
      for (const r of members) tierCostW += (grants.get(r.key) as Grant).allocatedW * costOf(r)
    }

    const scale = tierCostW > gridLeftW ? gridLeftW / tierCostW : 1
    const gridSlackW = gridLeftW - tierCostW * scale
    for (const members of cabinets.values()) {
      for (const r of members) {
        const grant = grants.get(r.key) as Grant
        grant.allocatedW *= scale
        grant.offeredW = Math.min(grant.offeredW, grant.allocatedW + gridSlackW / costOf(r))
      }
    }
    gridLeftW = Math.max(0, gridLeftW - tierCostW * scale)
  }
  return grants
}
