import { describe, expect, test } from 'vitest'
import { Chargers, stationIdFor } from '../src/chargers.ts'

describe('stationIdFor', () => {
  test('lower-cases and replaces what station ids cannot hold', () => {
    expect(stationIdFor('CS-ABB-00001')).toBe('cs-abb-00001')
    expect(stationIdFor('ABB:12.3')).toBe('abb_12_3')
    expect(stationIdFor('a*b=c+d|e@f')).toBe('a_b_c_d_e_f')
    expect(stationIdFor('_hidden')).toBe('x_hidden')
    expect(stationIdFor('X'.repeat(48))).toBe('x'.repeat(48))
  })
})

describe('Chargers.add', () => {
  test('maps each identity to its own station id and refuses a second identity on the same id', async () => {
    const chargers = Chargers.empty()
    const { charger, password } = await chargers.add('beibei', 'CS-1')
    expect(charger).toMatchObject({ site: 'beibei', identity: 'CS-1', station: 'cs-1' })
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/)
    await expect(chargers.add('beibei', 'cs-1')).rejects.toThrow(
      /already belongs to charger "CS-1".*--station/,
    )
    await expect(chargers.add('beibei', 'CS:1', 'cs-1')).rejects.toThrow(/already belongs/)
    // An alias resolves the collision; another site is another namespace.
    expect((await chargers.add('beibei', 'cs-1', 'cs-1-lower')).charger.station).toBe('cs-1-lower')
    expect((await chargers.add('other', 'cs-1')).charger.station).toBe('cs-1')
  })

  test('rotating a password keeps the station id and changes the hash', async () => {
    const chargers = Chargers.empty()
    const first = await chargers.add('beibei', 'CS-1', 'alias-1')
    const second = await chargers.add('beibei', 'CS-1')
    expect(second.charger.station).toBe('alias-1')
    expect(second.charger.hash).not.toBe(first.charger.hash)
    expect(chargers.list()).toHaveLength(1)
  })

  test('refuses identities OCPP does not allow and station ids the contract does not', async () => {
    const chargers = Chargers.empty()
    await expect(chargers.add('beibei', 'has space')).rejects.toThrow(/not an OCPP identity/)
    await expect(chargers.add('beibei', 'X'.repeat(49))).rejects.toThrow(/not an OCPP identity/)
    await expect(chargers.add('Bei', 'CS-1')).rejects.toThrow(/not a valid id/)
    await expect(chargers.add('beibei', 'CS-1', 'Upper')).rejects.toThrow(/breaks/)
  })
})
