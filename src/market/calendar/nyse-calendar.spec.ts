import { describe, expect, it } from 'vitest';
import type { MarketSession } from '../../shared/market.js';
import { newYorkOffsetMs, nextSessionChange, nyseSession, tradingDay } from './nyse-calendar.js';

/** ms of a New York wall-clock time, given the offset in hours it has then (−5 EST, −4 EDT). */
function ny(iso: string, offsetHours: -4 | -5): number {
  const sign = offsetHours < 0 ? '-' : '+';
  return Date.parse(`${iso}:00${sign}0${Math.abs(offsetHours)}:00`);
}

describe(nyseSession.name, () => {
  it('splits a trading day into pre-market, regular and after hours, closed at night', () => {
    const cases: [string, MarketSession][] = [
      ['2026-12-03T03:59', 'closed'],
      ['2026-12-03T04:00', 'pre'],
      ['2026-12-03T09:29', 'pre'],
      ['2026-12-03T09:30', 'regular'],
      ['2026-12-03T15:59', 'regular'],
      ['2026-12-03T16:00', 'post'],
      ['2026-12-03T19:59', 'post'],
      ['2026-12-03T20:00', 'closed'],
      ['2026-12-03T23:59', 'closed'],
    ];
    for (const [time, session] of cases) expect(nyseSession(ny(time, -5)), time).toBe(session);
  });

  it('is closed all weekend', () => {
    for (const time of ['2026-12-05T10:00', '2026-12-06T10:00', '2026-12-05T05:00']) {
      expect(nyseSession(ny(time, -5)), time).toBe('closed');
    }
  });

  it('keeps the NYSE holidays of 2026, observed on the right days', () => {
    const holidays = [
      ['2026-01-01', -5],
      ['2026-01-19', -5], // Martin Luther King Jr. Day
      ['2026-02-16', -5], // Washington's Birthday
      ['2026-04-03', -4], // Good Friday (Easter is April 5)
      ['2026-05-25', -4], // Memorial Day
      ['2026-06-19', -4], // Juneteenth
      ['2026-07-03', -4], // Independence Day falls on a Saturday: observed Friday
      ['2026-09-07', -4], // Labor Day
      ['2026-11-26', -5], // Thanksgiving
      ['2026-12-25', -5],
    ] as const;
    for (const [date, offset] of holidays) {
      expect(nyseSession(ny(`${date}T11:00`, offset)), date).toBe('closed');
      expect(tradingDay(ny(`${date}T11:00`, offset)).trading, date).toBe(false);
    }
    // The days around them trade.
    for (const [date, offset] of [
      ['2026-01-02', -5],
      ['2026-04-02', -4],
      ['2026-04-06', -4],
      ['2026-07-02', -4],
      ['2026-12-24', -5],
    ] as const) {
      expect(nyseSession(ny(`${date}T11:00`, offset)), date).toBe('regular');
    }
  });

  it('moves Sunday holidays to Monday, leaves a Saturday New Year unobserved, and has no Juneteenth before 2022', () => {
    expect(nyseSession(ny('2022-12-26T11:00', -5)), 'Christmas 2022 was a Sunday').toBe('closed');
    expect(nyseSession(ny('2022-06-20T11:00', -4)), 'Juneteenth 2022 was a Sunday').toBe('closed');
    expect(nyseSession(ny('2021-12-31T11:00', -5)), 'New Year 2022 was a Saturday').toBe('regular');
    expect(nyseSession(ny('2021-06-18T11:00', -4)), 'Juneteenth 2021').toBe('regular');
    expect(nyseSession(ny('2027-12-24T11:00', -5)), 'Christmas 2027 is a Saturday').toBe('closed');
  });

  it('closes early at 13:00 after Thanksgiving, on Christmas Eve and on July 3', () => {
    for (const [date, offset] of [
      ['2026-11-27', -5],
      ['2026-12-24', -5],
      ['2025-07-03', -4],
    ] as const) {
      expect(nyseSession(ny(`${date}T12:59`, offset)), date).toBe('regular');
      expect(nyseSession(ny(`${date}T13:00`, offset)), date).toBe('post');
      expect(nyseSession(ny(`${date}T16:59`, offset)), date).toBe('post');
      expect(nyseSession(ny(`${date}T17:00`, offset)), date).toBe('closed');
    }
    // 2026: July 3 is the observed holiday, and July 2 is a full day.
    expect(nyseSession(ny('2026-07-02T15:00', -4))).toBe('regular');
    // Christmas Eve 2022 was a Saturday: nothing to close early.
    expect(tradingDay(ny('2022-12-23T11:00', -5)).earlyClose).toBe(false);
  });

  it('opens at 09:30 New York time on both sides of the DST switches', () => {
    // Daylight time starts Sunday 2026-03-08: 09:30 is 14:30 UTC on Friday, 13:30 UTC on Monday.
    expect(nyseSession(Date.parse('2026-03-06T14:29:00Z'))).toBe('pre');
    expect(nyseSession(Date.parse('2026-03-06T14:30:00Z'))).toBe('regular');
    expect(nyseSession(Date.parse('2026-03-09T13:29:00Z'))).toBe('pre');
    expect(nyseSession(Date.parse('2026-03-09T13:30:00Z'))).toBe('regular');
    // It ends Sunday 2026-11-01: 09:30 is 13:30 UTC on Friday, 14:30 UTC on Monday.
    expect(nyseSession(Date.parse('2026-10-30T13:30:00Z'))).toBe('regular');
    expect(nyseSession(Date.parse('2026-11-02T14:29:00Z'))).toBe('pre');
    expect(nyseSession(Date.parse('2026-11-02T14:30:00Z'))).toBe('regular');
  });
});

describe(newYorkOffsetMs.name, () => {
  it('switches at 02:00 local time on the second Sunday of March and the first of November', () => {
    const H = 3_600_000;
    expect(newYorkOffsetMs(Date.parse('2026-03-08T06:59:59Z'))).toBe(-5 * H);
    expect(newYorkOffsetMs(Date.parse('2026-03-08T07:00:00Z'))).toBe(-4 * H);
    expect(newYorkOffsetMs(Date.parse('2026-11-01T05:59:59Z'))).toBe(-4 * H);
    expect(newYorkOffsetMs(Date.parse('2026-11-01T06:00:00Z'))).toBe(-5 * H);
  });

  it('agrees with the platform time-zone database for every hour of 2025–2027', () => {
    const format = new Intl.DateTimeFormat('en-US', {
      timeZone: 'America/New_York',
      timeZoneName: 'shortOffset',
    });
    for (
      let t = Date.parse('2025-01-01T00:00:00Z');
      t < Date.parse('2028-01-01T00:00:00Z');
      t += 3_600_000
    ) {
      const name = format.formatToParts(t).find((p) => p.type === 'timeZoneName')!.value;
      const expected = name === 'GMT-4' ? -4 : -5;
      if (newYorkOffsetMs(t) !== expected * 3_600_000)
        expect.fail(`${new Date(t).toISOString()}: ${name}`);
    }
  });
});

describe(nextSessionChange.name, () => {
  it('walks a whole week, Thanksgiving included, session by session', () => {
    // Monday 2026-11-23 00:00 New York to Monday 2026-11-30 00:00.
    let t = ny('2026-11-23T00:00', -5);
    const end = ny('2026-11-30T00:00', -5);
    const seen: string[] = [];
    while (t < end) {
      const next = nextSessionChange(t);
      const local = new Date(next - 5 * 3_600_000).toISOString().slice(5, 16);
      seen.push(`${local} ${nyseSession(next)}`);
      t = next;
    }
    expect(seen).toEqual([
      '11-23T04:00 pre',
      '11-23T09:30 regular',
      '11-23T16:00 post',
      '11-23T20:00 closed',
      '11-24T04:00 pre',
      '11-24T09:30 regular',
      '11-24T16:00 post',
      '11-24T20:00 closed',
      '11-25T04:00 pre',
      '11-25T09:30 regular',
      '11-25T16:00 post',
      '11-25T20:00 closed',
      // Thanksgiving: closed all day; Friday closes at 13:00.
      '11-27T04:00 pre',
      '11-27T09:30 regular',
      '11-27T13:00 post',
      '11-27T17:00 closed',
      '11-30T04:00 pre',
    ]);
  });
});
