import { describe, expect, test } from 'vitest'
import { stationTopic, type MessageKind } from '@evmon/contracts/topics'
import { applyReplayMessage, emptyStation, replayView } from '../../../src/components/Replay/replay-state.ts'

const topic = (kind: MessageKind, station = 'zn-super') => stationTopic('beibei', station, kind)

describe('replay messages folded into a live station', () => {
  test('meta, status and telemetry build the same station a live frame would', () => {
    let s = emptyStation('beibei', 'zn-super')
    s = applyReplayMessage(
      s,
      {
        topic: topic('meta'),
        retain: true,
        payload: {
          v: 1,
          name: 'Zhongnan',
          cooling: 'liquid',
          cabinet_max_power_w: 480_000,
          connectors: [{ id: 1, kind: 'dc', max_power_w: 480_000, liquid_cooled: true }],
        },
      },
      1,
    )
    s = applyReplayMessage(
      s,
      {
        topic: topic('status'),
        retain: true,
        payload: { ts: 2, connector: 1, status: 'Faulted', error_code: 'GroundFailure' },
      },
      2,
    )
    expect(s.connectors[0]).toMatchObject({
      status: 'Faulted',
      error_code: 'GroundFailure',
      liquid_cooled: true,
    })
    s = applyReplayMessage(
      s,
      {
        topic: topic('telemetry'),
        retain: false,
        payload: {
          v: 1,
          ts: 3_000,
          seq: 1,
          meter: { grid_power_w: 470_000, grid_energy_wh: 1, aux_power_w: 2_000 },
          connectors: [
            {
              id: 1,
              status: 'Charging',
              power_w: 452_000,
              offered_w: 480_000,
              voltage_v: 768,
              current_a: 588,
              energy_wh: 5,
              temp_c: 62,
              coolant_c: 38,
            },
          ],
        },
      },
      3_000,
    )
    expect(s).toMatchObject({ name: 'Zhongnan', online: true, last_ts: 3_000, grid_power_w: 470_000 })
    expect(s.connectors[0]).toMatchObject({ status: 'Charging', power_w: 452_000, temp_c: 62, coolant_c: 38 })
    expect(replayView(s, 3_000)).toMatchObject({ ts: 3_000, site_power_w: 470_000, stations: [s] })
  })

  test('ignores other stations and unknown topics', () => {
    const s = emptyStation('beibei', 'zn-super')
    expect(
      applyReplayMessage(s, { topic: topic('online', 'kc-ac'), retain: true, payload: { online: true } }, 1),
    ).toBe(s)
    // Not a station topic of contract version 1: another root, a topic with a bad kind.
    for (const other of ['evmon/v2/beibei/zn-super/online', 'evmon/v1/beibei/zn-super/nonsense']) {
      expect(applyReplayMessage(s, { topic: other, retain: true, payload: { online: true } }, 1)).toBe(s)
    }
    expect(
      applyReplayMessage(s, { topic: topic('online'), retain: true, payload: { online: true } }, 1),
    ).toMatchObject({ online: true })
  })
})
