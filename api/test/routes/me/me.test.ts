import { createHash } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { FakeInflux, MemoryFeed } from '../../fakes.ts'
import { buildApp } from '../../../src/app.ts'
import { loadConfig } from '../../../src/config.ts'

const OPERATOR = 'me-operator-token'
const ENGINEER = 'me-engineer-token'
const sha = (t: string) => createHash('sha256').update(t).digest('hex')

let app: FastifyInstance
beforeAll(async () => {
  app = await buildApp(
    loadConfig({
      EVMON_LOG_LEVEL: 'silent',
      EVMON_DASHBOARD_DIR: '/nonexistent/evmon-dashboard',
      EVMON_API_TOKENS: `operator:${sha(OPERATOR)},engineer:${sha(ENGINEER)}`,
    }),
    { feed: new MemoryFeed(), influx: new FakeInflux() },
  )
  await app.ready()
})
afterAll(() => app.close())

const me = (headers: Record<string, string>) => app.inject({ method: 'GET', url: '/api/v1/me', headers })

test('GET /api/v1/me answers the role of a valid bearer token', async () => {
  const operator = await me({ authorization: `Bearer ${OPERATOR}` })
  expect(operator.statusCode).toBe(200)
  expect(operator.json()).toEqual({ role: 'operator' })
  const engineer = await me({ authorization: `Bearer ${ENGINEER}` })
  expect(engineer.statusCode).toBe(200)
  expect(engineer.json()).toEqual({ role: 'engineer' })
})

test('GET /api/v1/me is 401 without a token or with one the API does not know', async () => {
  const none = await me({})
  expect(none.statusCode).toBe(401)
  expect(none.json()).toMatchObject({ message: 'a bearer token is required' })
  const guessed = await me({ authorization: 'Bearer guessed-token' })
  expect(guessed.statusCode).toBe(401)
  expect(guessed.json()).toMatchObject({ message: 'the bearer token is not valid' })
  expect((await me({ authorization: 'Basic abc' })).statusCode).toBe(401)
})

test('the OpenAPI document describes /api/v1/me with its roles and bearer security', async () => {
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
  const get = doc.paths['/api/v1/me'].get
  expect(get.security).toEqual([{ bearer: [] }])
  const schema = get.responses['200'].content['application/json'].schema
  expect(
    schema.properties.role.anyOf.map((r: { enum?: string[]; const?: string }) => r.enum?.[0] ?? r.const),
  ).toEqual(['operator', 'engineer'])
  expect(get.responses['401']).toBeDefined()
})
