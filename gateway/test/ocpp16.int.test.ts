import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { Stack } from './harness.ts'

let stack: Stack
beforeEach(async () => {
  stack = await Stack.start()
})
afterEach(async () => {
  await stack.close()
})

describe('OCPP 1.6J charger, central-system mode', () => {
  test('boots with Basic auth and becomes an online station with meta and status', async () => {
    const password = await stack.addCharger('beibei', 'CS-ABB-00001')
    const cp = stack.charger('beibei', 'CS-ABB-00001', password)
    await cp.connect()
    const boot = (await cp.call('BootNotification', {
      chargePointVendor: 'ABB',
      chargePointModel: 'Terra 184',
      chargeBoxSerialNumber: 'SN-1',
      firmwareVersion: '1.2.3',
    })) as { status: string; interval: number }
    expect(boot.status).toBe('Accepted')
    expect(boot.interval).toBe(60)
    await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' })

    const online = await stack.until('online', () => stack.of('cs-abb-00001', 'online').at(0))
    expect(online.payload).toMatchObject({ online: true })
    const meta = await stack.until('meta with connector 1', () =>
      stack.of('cs-abb-00001', 'meta').find((m) => m.kind === 'meta' && m.payload.connectors.length === 1),
    )
    expect(meta.site).toBe('beibei')
    expect(meta.payload).toMatchObject({
      name: 'CS-ABB-00001',
      connectors: [{ id: 1 }],
      ocpp: {
        identity: 'CS-ABB-00001',
        protocol: 'ocpp1.6',
        vendor: 'ABB',
        model: 'Terra 184',
        serial_number: 'SN-1',
      },
    })
    const status = await stack.until('status', () => stack.of('cs-abb-00001', 'status').at(0))
    expect(status.payload).toMatchObject({ connector: 1, status: 'Available', error_code: 'NoError' })
    // Firmware and diagnostics notifications are kept as events (log lines and counters), not published.
    await cp.call('FirmwareStatusNotification', { status: 'Installed' })
    await cp.call('DiagnosticsStatusNotification', { status: 'Uploaded' })
    expect(
      await stack.gateway.metrics.get('evmon_gateway_events_total', { type: 'FirmwareStatusNotification' }),
    ).toBe(1)
    expect(
      await stack.gateway.metrics.get('evmon_gateway_events_total', {
        type: 'DiagnosticsStatusNotification',
      }),
    ).toBe(1)
    expect(stack.logs).toContain('beibei/CS-ABB-00001: firmware Installed')
    await cp.close()
    const offline = await stack.until('offline', () =>
      stack.of('cs-abb-00001', 'online').find((m) => m.kind === 'online' && !m.payload.online),
    )
    expect(offline.payload).toMatchObject({ online: false, ts: expect.any(Number) })
    expect(stack.rejected).toEqual([])
  })
})
