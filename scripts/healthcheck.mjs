// Container healthcheck: exits 0 when EVMON_HEALTH_URL answers 200 within 3 s. Plain Node, no deps.
const url = process.env.EVMON_HEALTH_URL
if (!url) {
  console.error('EVMON_HEALTH_URL is not set')
  process.exit(2)
}
fetch(url, { signal: AbortSignal.timeout(3000) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  () => process.exit(1),
)
