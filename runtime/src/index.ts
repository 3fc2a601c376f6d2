export * from './env.ts'
export * from './files.ts'
export * from './limits.ts'
export * from './secrets.ts'
