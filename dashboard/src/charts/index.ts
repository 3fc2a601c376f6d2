import {
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js'

// The one place that touches Chart.js globals: registering only what the charts use keeps the bundle
// small, and the defaults here give every chart the dashboard's look. Import Chart from this module,
// never from 'chart.js', so the registration has always run.

Chart.register(LineController, LineElement, PointElement, LinearScale, Filler, Tooltip, Legend)

Chart.defaults.font.family =
  'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "PingFang SC", "Microsoft YaHei", sans-serif'
Chart.defaults.color = '#9aa4b2'
Chart.defaults.borderColor = 'rgba(154, 164, 178, 0.14)'
// Data arrives every second; animating each update would never settle and costs CPU on wall screens.
Chart.defaults.animation = false
Chart.defaults.maintainAspectRatio = false
Chart.defaults.plugins.legend.labels.boxWidth = 12
Chart.defaults.plugins.legend.labels.boxHeight = 12

/** Station series colours in order of appearance (MAX_SERIES of them); "other stations" is grey. */
export const SERIES_COLORS = [
  '#38bdf8',
  '#a78bfa',
  '#f472b6',
  '#facc15',
  '#34d399',
  '#fb923c',
  '#818cf8',
  '#2dd4bf',
]
export const OTHER_SERIES_COLOR = '#94a3b8'

export { Chart }
export { timeTicks } from './time-ticks.ts'
