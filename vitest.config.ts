import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vitest/config'

// Test tiers by file name: unit tests do no I/O; integration tests start real
// services (aedes on port 0, a real influxd); e2e tests run the whole stack and a real browser.
export default defineConfig({
  test: {
    projects: [
      {
        // The Vue plugin lets component tests (@vue/test-utils) import .vue files.
        plugins: [vue()],
        test: {
          name: 'unit',
          include: ['{contracts,runtime,broker,ingest,api,simulator,dashboard,gateway}/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/*.int.test.ts'],
        },
      },
      {
        test: {
          name: 'int',
          include: [
            '{contracts,runtime,broker,ingest,api,simulator,gateway}/test/**/*.int.test.ts',
            'test/*.int.test.ts',
          ],
          globalSetup: ['test/support/influx-global.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.test.ts'],
          globalSetup: ['test/support/influx-global.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
})
