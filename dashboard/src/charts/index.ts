import {
  type Plugin,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js'
import { onBeforeUnmount, onMounted, watch } from 'vue'
import { theme, type Theme } from '../prefs.ts'

// The one place that touches Chart.js globals: registering only what the charts use keeps the bundle
// small, and the defaults here give every chart the dashboard's look. Import Chart from this module,
// never from 'chart.js', so the registration has always run. Only the views with charts import it, so
// the public availability page never downloads Chart.js.

/**
 * Chart.js (4.6) keeps the running totals of stacked datasets in `chart._stacks`, one entry per x
 * value ever drawn, and drops them only when a dataset is removed. The live chart's x values are
 * timestamps that move on every second, so that map grew by an entry a second for as long as the page
 * stayed open (the leak the dashboard heap soak found). Every update re-parses every dataset and
 * rebuilds the entries it needs, so forgetting the map before each update keeps only the current ones.
 */
const forgetStaleStacks: Plugin = {
  id: 'evmonForgetStaleStacks',
  beforeUpdate: (chart) => {
    delete (chart as { _stacks?: unknown })._stacks
  },
}

Chart.register(
  forgetStaleStacks,
  LineController,
  LineElement,
  PointElement,
  BarController,
  BarElement,
  LinearScale,
  CategoryScale,
  Filler,
  Tooltip,
  Legend,
)

Chart.defaults.font.family =
  'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif'
// Data arrives every second; animating each update would never settle and costs CPU on wall screens.
Chart.defaults.animation = false
Chart.defaults.maintainAspectRatio = false
Chart.defaults.plugins.legend.labels.boxWidth = 12
Chart.defaults.plugins.legend.labels.boxHeight = 12

/** Axis and grid colours per theme, matching the muted text and borders of styles.css. */
export const CHART_THEME: Readonly<Record<Theme, { text: string; grid: string; limit: string }>> = {
  dark: { text: '#9aa4b2', grid: 'rgba(154, 164, 178, 0.14)', limit: '#f87171' },
  light: { text: '#4b5563', grid: 'rgba(75, 85, 99, 0.16)', limit: '#b91c1c' },
}

function applyTheme(value: Theme): void {
  Chart.defaults.color = CHART_THEME[value].text
  Chart.defaults.borderColor = CHART_THEME[value].grid
}
applyTheme(theme.value)

/**
 * A component's one chart: built by `create` on the mounted canvas, redrawn in the new colours when the
 * theme changes (defaults are read when a chart resolves its options, so an update is all a switch
 * needs) and destroyed on unmount. Call from a component's setup; the getter gives null before mount.
 */
export function useChart<TChart extends Chart>(
  canvas: { readonly value: HTMLCanvasElement | null },
  create: (canvas: HTMLCanvasElement) => TChart,
): () => TChart | null {
  // Outside Vue's reactivity: Chart.js mutates its own objects on every draw, and a reactive proxy
  // around them would make each update far slower.
  let chart: TChart | null = null
  onMounted(() => {
    if (canvas.value) chart = create(canvas.value)
  })
  watch(theme, (value) => {
    applyTheme(value)
    chart?.update('none')
  })
  onBeforeUnmount(() => {
    chart?.destroy()
    chart = null
  })
  return () => chart
}

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
