import { Type, type Static } from '@sinclair/typebox'
import { Id, Timestamp } from '../schemas.ts'
import { NumberParam, TimeParam } from './params.ts'

const range = {
  site: Type.Optional(Id),
  station: Id,
  from: TimeParam('ISO-8601 (with zone) or epoch ms'),
  to: TimeParam('ISO-8601 (with zone) or epoch ms'),
}

/** `GET /api/v1/export`: streams stored messages of one station (engineer token). */
export const ExportQuery = Type.Object({
  ...range,
  format: Type.Optional(Type.Union([Type.Literal('ndjson'), Type.Literal('csv')])),
})
export type ExportQuery = Static<typeof ExportQuery>

/** `GET /api/v1/replay/ws` (engineer token): stored messages paced at `speed`× real time. */
export const ReplayQuery = Type.Object({
  ...range,
  speed: Type.Optional(NumberParam(1, 3600, { default: 60 })),
})
export type ReplayQuery = Static<typeof ReplayQuery>

/** One stored message, exactly as the simulator's dry run writes it (NDJSON line of `/export`). */
export const ReplayMessage = Type.Object({
  topic: Type.String(),
  payload: Type.Unknown(),
  retain: Type.Boolean(),
})
export type ReplayMessage = Static<typeof ReplayMessage>

/** Client → server on the replay socket. */
export const ReplayControl = Type.Union([
  Type.Object({ type: Type.Literal('pause') }),
  Type.Object({ type: Type.Literal('resume') }),
  Type.Object({ type: Type.Literal('seek'), to: Timestamp }),
  Type.Object({ type: Type.Literal('speed'), speed: Type.Number({ minimum: 1, maximum: 3600 }) }),
])
export type ReplayControl = Static<typeof ReplayControl>

/** Server → client on the replay socket. */
export const ReplayFrame = Type.Union([
  Type.Object({ type: Type.Literal('message'), t: Timestamp, data: ReplayMessage }),
  Type.Object({
    type: Type.Literal('state'),
    playing: Type.Boolean(),
    speed: Type.Number(),
    position: Timestamp,
    from: Timestamp,
    to: Timestamp,
  }),
  Type.Object({ type: Type.Literal('end') }),
  Type.Object({ type: Type.Literal('error'), message: Type.String() }),
])
export type ReplayFrame = Static<typeof ReplayFrame>
