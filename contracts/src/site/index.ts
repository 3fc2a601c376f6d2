// The site description and its pure arithmetic, free of the schema compiler so the browser may import it.
export * from './local-time.ts'
export * from './thermal.ts'
export * from './tariff.ts'
export * from './piecewise-linear.ts'
export * from './schema.ts'
export * from './check.ts'
export * from './vehicle-curve.ts'
