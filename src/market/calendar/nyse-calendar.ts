import type { MarketSession } from '../../shared/market.js';

/**
 * The NYSE trading calendar, computed rather than looked up, so it holds for
 * any year without a table to update: sessions in America/New_York time
 * (pre-market 04:00–09:30, regular 09:30–16:00, after hours 16:00–20:00,
 * closed at night, on weekends and on NYSE holidays), with the early closes
 * at 13:00 (after hours then until 17:00).
 *
 * New York's UTC offset follows the US rule in force since 2007 (daylight
 * time from the second Sunday of March, 02:00, to the first Sunday of
 * November, 02:00): computed here, not read from the platform's time-zone
 * database, so the result is the same on every machine and in every test.
 *
 * Holidays (NYSE Rule 7.2): New Year's Day (a Sunday one moves to Monday; a
 * Saturday one is not made up), Martin Luther King Jr. Day, Washington's
 * Birthday, Good Friday, Memorial Day, Juneteenth (from 2022), Independence
 * Day, Labor Day, Thanksgiving and Christmas (a Saturday holiday moves to the
 * Friday before, a Sunday one to the Monday after). Early closes: the day
 * before Independence Day (when a weekday and not itself a holiday), the day
 * after Thanksgiving, and Christmas Eve (when a weekday). One-off closures (a
 * national day of mourning) are not predictable and not modelled.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Minutes after New York midnight at which each part of a trading day starts. */
const PRE_OPEN = 4 * 60;
const REGULAR_OPEN = 9 * 60 + 30;
const REGULAR_CLOSE = 16 * 60;
const EARLY_CLOSE = 13 * 60;
const POST_CLOSE = 20 * 60;
const EARLY_POST_CLOSE = 17 * 60;

/** ms since the epoch of 00:00 UTC on `year-month-day` (month 1–12). */
function utcMidnight(year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day);
}

/** Day of the week (0 Sunday … 6 Saturday) of a UTC midnight. */
function weekday(midnight: number): number {
  return new Date(midnight).getUTCDay();
}

/** The `n`-th (1-based) `dow` of a month; `n = -1` the last one. */
function nthWeekday(year: number, month: number, dow: number, n: number): number {
  if (n > 0) {
    const first = utcMidnight(year, month, 1);
    const offset = (dow - weekday(first) + 7) % 7;
    return first + (offset + (n - 1) * 7) * DAY;
  }
  const last = utcMidnight(year, month + 1, 1) - DAY;
  const back = (weekday(last) - dow + 7) % 7;
  return last - back * DAY;
}

/** Easter Sunday (Gregorian; the anonymous algorithm, Meeus/Jones/Butcher). */
function easter(year: number): number {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return utcMidnight(year, month, day);
}

/** A fixed-date holiday as observed: Saturday → Friday, Sunday → Monday. */
function observed(midnight: number): number {
  const dow = weekday(midnight);
  if (dow === 6) return midnight - DAY;
  if (dow === 0) return midnight + DAY;
  return midnight;
}

interface YearCalendar {
  /** UTC midnights (the New York date) of the holidays. */
  holidays: Set<number>;
  /** UTC midnights of the early-close days. */
  earlyCloses: Set<number>;
}

const years = new Map<number, YearCalendar>();

/** The holidays and early closes of `year`, computed once. */
function yearCalendar(year: number): YearCalendar {
  const cached = years.get(year);
  if (cached) return cached;
  const holidays = new Set<number>();
  // New Year's Day: a Saturday one is not observed on the Friday before (it would fall in the old year).
  const newYear = utcMidnight(year, 1, 1);
  if (weekday(newYear) !== 6) holidays.add(observed(newYear));
  holidays.add(nthWeekday(year, 1, 1, 3)); // Martin Luther King Jr. Day
  holidays.add(nthWeekday(year, 2, 1, 3)); // Washington's Birthday
  holidays.add(easter(year) - 2 * DAY); // Good Friday
  holidays.add(nthWeekday(year, 5, 1, -1)); // Memorial Day
  if (year >= 2022) holidays.add(observed(utcMidnight(year, 6, 19))); // Juneteenth
  const july4 = observed(utcMidnight(year, 7, 4));
  holidays.add(july4);
  holidays.add(nthWeekday(year, 9, 1, 1)); // Labor Day
  const thanksgiving = nthWeekday(year, 11, 4, 4);
  holidays.add(thanksgiving);
  holidays.add(observed(utcMidnight(year, 12, 25)));

  const earlyCloses = new Set<number>();
  const tradingWeekday = (midnight: number) =>
    weekday(midnight) >= 1 && weekday(midnight) <= 5 && !holidays.has(midnight);
  const july3 = utcMidnight(year, 7, 3);
  if (tradingWeekday(july3) && july4 === utcMidnight(year, 7, 4)) earlyCloses.add(july3);
  earlyCloses.add(thanksgiving + DAY);
  const christmasEve = utcMidnight(year, 12, 24);
  if (tradingWeekday(christmasEve)) earlyCloses.add(christmasEve);

  const calendar = { holidays, earlyCloses };
  if (years.size > 64) years.clear();
  years.set(year, calendar);
  return calendar;
}

/** New York's offset from UTC at `ms`: −4 h in daylight time, −5 h otherwise. */
export function newYorkOffsetMs(ms: number): number {
  const year = new Date(ms).getUTCFullYear();
  // 02:00 local standard time (07:00 UTC) on the second Sunday of March …
  const start = nthWeekday(year, 3, 0, 2) + 7 * HOUR;
  // … to 02:00 local daylight time (06:00 UTC) on the first Sunday of November.
  const end = nthWeekday(year, 11, 0, 1) + 6 * HOUR;
  return ms >= start && ms < end ? -4 * HOUR : -5 * HOUR;
}

/** What a New York calendar day is for trading. */
export interface TradingDay {
  /** UTC midnight of the New York date (an id of the day). */
  date: number;
  /** Weekday, not a holiday. */
  trading: boolean;
  /** Closes at 13:00 rather than 16:00. */
  earlyClose: boolean;
}

/** The New York trading day `ms` falls in. */
export function tradingDay(ms: number): TradingDay {
  const local = ms + newYorkOffsetMs(ms);
  const date = local - (((local % DAY) + DAY) % DAY);
  const year = new Date(date).getUTCFullYear();
  const { holidays, earlyCloses } = yearCalendar(year);
  const dow = weekday(date);
  const trading = dow >= 1 && dow <= 5 && !holidays.has(date);
  return { date, trading, earlyClose: trading && earlyCloses.has(date) };
}

/** The NYSE session at `ms` (ms since the Unix epoch). */
export function nyseSession(ms: number): MarketSession {
  const day = tradingDay(ms);
  if (!day.trading) return 'closed';
  const minute = Math.floor((ms + newYorkOffsetMs(ms) - day.date) / MINUTE);
  const close = day.earlyClose ? EARLY_CLOSE : REGULAR_CLOSE;
  const postClose = day.earlyClose ? EARLY_POST_CLOSE : POST_CLOSE;
  if (minute < PRE_OPEN) return 'closed';
  if (minute < REGULAR_OPEN) return 'pre';
  if (minute < close) return 'regular';
  if (minute < postClose) return 'post';
  return 'closed';
}

/**
 * The first time after `ms` at which the session differs from the one at
 * `ms`: when to look again. Searches minute boundaries (sessions change on
 * whole minutes), at most 5 days ahead: the longest run of one session, a
 * holiday weekend, is 4 days.
 */
export function nextSessionChange(ms: number): number {
  const now = nyseSession(ms);
  // Sessions begin on whole New York minutes, which are whole UTC minutes too.
  let t = Math.floor(ms / MINUTE) * MINUTE + MINUTE;
  // Coarse steps of 30 minutes (every boundary is on a half hour), then back to the minute.
  const limit = ms + 5 * DAY;
  while (t < limit) {
    const step = t + 30 * MINUTE - (t % (30 * MINUTE));
    if (nyseSession(step) !== now) {
      let lo = t;
      while (lo < step && nyseSession(lo) === now) lo += MINUTE;
      return lo;
    }
    t = step;
  }
  return limit;
}
