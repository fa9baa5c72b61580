import { rename, mkdir, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Random } from './random.ts';

/**
 * Synthetic retail transactions drawn from the models the CLV literature fits, so the pipeline can be
 * exercised (and its model fit checked) at any size:
 * - purchases follow the BG/NBD story (Fader, Hardie & Lee 2005, "Counting your customers the easy
 *   way"): while alive a customer buys as a Poisson process with their own rate λ ~ Gamma(r, α);
 *   after each repeat purchase they drop out for good with their own probability p ~ Beta(a, b);
 * - order values follow Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"; Colombo & Jiang
 *   1999): customer i's orders are Gamma(p, ν_i) with ν_i ~ Gamma(q, γ), so each customer has their
 *   own mean spend p/ν_i and each order scatters around it;
 * - customers are acquired uniformly over the period (their first purchase), which gives monthly
 *   cohorts; a few purchase occasions carry extra orders the same day, and a few orders are
 *   returned (wholly or partly) days later as a negative row with its own transaction_id.
 * The same options (seed included) give a byte-identical file.
 */
export interface CustomerBehaviour {
  /** BG/NBD parameters, time unit days: λ ~ Gamma(shape r, rate alpha), p ~ Beta(a, b). */
  readonly purchases: { readonly r: number; readonly alpha: number; readonly a: number; readonly b: number };
  /** Gamma-Gamma parameters: order value ~ Gamma(shape p, rate ν), ν ~ Gamma(shape q, rate gamma). */
  readonly spend: { readonly p: number; readonly q: number; readonly gamma: number };
  /** Chance that a purchase occasion has further orders later the same UTC day. */
  readonly sameDayExtraOrderProbability: number;
  /** Such an occasion has 1 + Poisson(this) extra orders. */
  readonly sameDayExtraOrdersPoissonMean: number;
  /** Chance that an order is followed by a return. */
  readonly returnProbability: number;
  /** Chance that a return refunds only part of the order (20–80 % of it); otherwise all of it. */
  readonly partialReturnProbability: number;
  /** A return comes uniformly this many days after its order; returns due after the period are absent. */
  readonly returnDelayDays: { readonly min: number; readonly max: number };
  /** Items per order are 1 + Poisson(order value / this − 1), so bigger baskets hold more items. */
  readonly averageItemPrice: number;
}

/**
 * Defaults chosen for a frequent-shopping retailer (grocery, pharmacy, convenience), so that over
 * 24 months a customer makes about 10 transactions on average (1M customers ≈ 10M rows):
 * - λ ~ Gamma(0.7, 10/day): mean 0.07 purchases a day (≈ 26 a year), strongly skewed (shape < 1):
 *   a few customers shop weekly or more, most far less often;
 * - p ~ Beta(1.5, 15): a customer drops out after a purchase with mean probability 1.5/16.5 ≈ 9 %,
 *   so about 11 purchases in a lifetime on average, heterogeneous across customers;
 *   with acquisition spread over the period, E[1 + X(T)] ≈ 9.4 purchase occasions per customer;
 * - Gamma-Gamma p = 6, q = 4, γ = 30: mean order value pγ/(q−1) = 60, customer means spread with
 *   standard deviation pγ/((q−1)√(q−2)) ≈ 42, single orders scatter ±1/√p ≈ 41 % around them;
 * - 3 % of occasions carry 1 + Poisson(0.5) extra orders the same day (+4.5 % orders);
 * - 2.5 % of orders are returned 1–14 days later, half of them in part.
 */
export const DEFAULT_BEHAVIOUR: CustomerBehaviour = {
  purchases: { r: 0.7, alpha: 10, a: 1.5, b: 15 },
  spend: { p: 6, q: 4, gamma: 30 },
  sameDayExtraOrderProbability: 0.03,
  sameDayExtraOrdersPoissonMean: 0.5,
  returnProbability: 0.025,
  partialReturnProbability: 0.5,
  returnDelayDays: { min: 1, max: 14 },
  averageItemPrice: 25,
};

/** Defaults for the CLI's optional flags. */
export const GENERATE_DEFAULTS = { seed: 1, start: '2023-01-01', months: 24 } as const;

export interface GenerateOptions {
  readonly customers: number;
  /** Integer in [0, 2^32). */
  readonly seed: number;
  /** First day of the period, YYYY-MM-DD (UTC). */
  readonly start: string;
  /** Length of the period in calendar months; every timestamp is in [start, start + months). */
  readonly months: number;
  /** Output file, `.csv` or `.csv.gz` (gzip-compressed). Written under a temporary name, then renamed. */
  readonly out: string;
  /** Overrides of DEFAULT_BEHAVIOUR, by top-level field. */
  readonly behaviour?: Partial<CustomerBehaviour>;
}

export interface GenerateResult {
  readonly rows: number;
  readonly customers: number;
  /** Rows that are returns (negative amount). */
  readonly returns: number;
  /** Dates (YYYY-MM-DD) of the earliest and latest row. */
  readonly firstDate: string;
  readonly lastDate: string;
}

export const GENERATED_CSV_HEADER = 'customer_id,transaction_id,order_ts,amount,quantity';

const SECONDS_PER_DAY = 86_400;
/** Characters per chunk handed to the stream: big enough that stream overhead is negligible. */
const CHUNK_CHARS = 1 << 20;
/** Bound that keeps item counts within the Poisson sampler's range for very large baskets. */
const MAX_EXTRA_ITEMS_MEAN = 50;
const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

/** Writes the generated transactions to `options.out`; `onProgress` gets the rows written so far. */
export async function generateTransactions(
  options: GenerateOptions,
  onProgress?: (rowsWritten: number) => void,
): Promise<GenerateResult> {
  const period = parsePeriod(options);
  const gzip = options.out.endsWith('.csv.gz');
  if (!gzip && !options.out.endsWith('.csv')) {
    throw new RangeError(`out must end with .csv or .csv.gz, got ${options.out}`);
  }
  const behaviour: CustomerBehaviour = { ...DEFAULT_BEHAVIOUR, ...options.behaviour };
  const tally: Tally = { rows: 0, returns: 0, firstSecond: Infinity, lastSecond: -Infinity };
  const chunks = csvChunks(options.customers, new Random(options.seed), behaviour, period, tally, onProgress);

  await mkdir(dirname(options.out), { recursive: true });
  const partial = `${options.out}.${process.pid}.partial`;
  try {
    const source = Readable.from(chunks, { highWaterMark: 4 });
    const file = createWriteStream(partial);
    await (gzip ? pipeline(source, createGzip(), file) : pipeline(source, file));
    await rename(partial, options.out);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return {
    rows: tally.rows,
    customers: options.customers,
    returns: tally.returns,
    firstDate: period.dayPrefixes[Math.floor(tally.firstSecond / SECONDS_PER_DAY)]!.slice(0, 10),
    lastDate: period.dayPrefixes[Math.floor(tally.lastSecond / SECONDS_PER_DAY)]!.slice(0, 10),
  };
}

interface Period {
  readonly days: number;
  /** "YYYY-MM-DDT" for each day of the period, so formatting a timestamp needs no Date object. */
  readonly dayPrefixes: readonly string[];
}

interface Tally {
  rows: number;
  returns: number;
  /** Seconds since the period start of the earliest and latest row. */
  firstSecond: number;
  lastSecond: number;
}

function parsePeriod(options: GenerateOptions): Period {
  if (!Number.isInteger(options.customers) || options.customers < 1) {
    throw new RangeError(`customers must be a positive integer, got ${options.customers}`);
  }
  if (!Number.isInteger(options.months) || options.months < 1 || options.months > 1200) {
    throw new RangeError(`months must be an integer between 1 and 1200, got ${options.months}`);
  }
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(options.start);
  const startMs = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : NaN;
  if (!match || new Date(startMs).toISOString().slice(0, 10) !== options.start) {
    throw new RangeError(`start must be a date YYYY-MM-DD, got ${options.start}`);
  }
  const endMs = addMonthsClamped(startMs, options.months);
  const days = Math.round((endMs - startMs) / (SECONDS_PER_DAY * 1000));
  const dayPrefixes = Array.from({ length: days }, (_, day) =>
    new Date(startMs + day * SECONDS_PER_DAY * 1000).toISOString().slice(0, 11),
  );
  return { days, dayPrefixes };
}

/** Same day of month `months` later, clamped to the month's last day (as SQL date + interval does). */
function addMonthsClamped(startMs: number, months: number): number {
  const start = new Date(startMs);
  const year = start.getUTCFullYear();
  const month = start.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return Date.UTC(year, month, Math.min(start.getUTCDate(), lastDay));
}

function* csvChunks(
  customers: number,
  random: Random,
  behaviour: CustomerBehaviour,
  period: Period,
  tally: Tally,
  onProgress: ((rowsWritten: number) => void) | undefined,
): Generator<string> {
  const { purchases, spend } = behaviour;
  const endSecond = period.days * SECONDS_PER_DAY;
  const idWidth = String(customers).length;
  let transactionNumber = 0;
  let chunk = `${GENERATED_CSV_HEADER}\n`;
  let pendingReturns: { second: number; cents: number; quantity: number }[] = [];

  const timestamp = (second: number): string => {
    const day = Math.floor(second / SECONDS_PER_DAY);
    const ofDay = second - day * SECONDS_PER_DAY;
    const hour = Math.floor(ofDay / 3600);
    const minute = Math.floor((ofDay - hour * 3600) / 60);
    return `${period.dayPrefixes[day]}${TWO_DIGITS[hour]}:${TWO_DIGITS[minute]}:${TWO_DIGITS[ofDay % 60]}Z`;
  };
  const money = (cents: number): string => {
    const magnitude = Math.abs(cents);
    return `${cents < 0 ? '-' : ''}${Math.floor(magnitude / 100)}.${TWO_DIGITS[magnitude % 100]}`;
  };
  const appendRow = (customerId: string, second: number, cents: number, quantity: number): void => {
    transactionNumber++;
    chunk += `${customerId},T${transactionNumber},${timestamp(second)},${money(cents)},${quantity}\n`;
    tally.rows++;
    if (second < tally.firstSecond) tally.firstSecond = second;
    if (second > tally.lastSecond) tally.lastSecond = second;
  };

  for (let index = 1; index <= customers; index++) {
    const customerId = `C${String(index).padStart(idWidth, '0')}`;
    const spendRate = random.gamma(spend.q, 1 / spend.gamma);

    const appendOrder = (second: number): void => {
      const cents = Math.max(1, Math.round(random.gamma(spend.p, 1 / spendRate) * 100));
      const extraItemsMean = Math.min(MAX_EXTRA_ITEMS_MEAN, Math.max(0, cents / 100 / behaviour.averageItemPrice - 1));
      const quantity = 1 + random.poisson(extraItemsMean);
      appendRow(customerId, second, cents, quantity);
      if (!random.chance(behaviour.returnProbability)) return;
      const delay = random.between(behaviour.returnDelayDays.min, behaviour.returnDelayDays.max);
      const returnSecond = second + Math.floor(delay * SECONDS_PER_DAY);
      if (returnSecond >= endSecond) return;
      if (random.chance(behaviour.partialReturnProbability)) {
        const share = random.between(0.2, 0.8);
        pendingReturns.push({
          second: returnSecond,
          cents: Math.max(1, Math.round(cents * share)),
          quantity: Math.max(1, Math.round(quantity * share)),
        });
      } else {
        pendingReturns.push({ second: returnSecond, cents, quantity });
      }
    };

    const appendOccasion = (days: number): void => {
      const second = Math.floor(days * SECONDS_PER_DAY);
      appendOrder(second);
      if (!random.chance(behaviour.sameDayExtraOrderProbability)) return;
      const secondsLeftToday = SECONDS_PER_DAY - (second % SECONDS_PER_DAY);
      const extraOrders = 1 + random.poisson(behaviour.sameDayExtraOrdersPoissonMean);
      for (let extra = 0; extra < extraOrders; extra++) {
        appendOrder(second + Math.floor(random.uniform() * secondsLeftToday));
      }
    };

    // BG/NBD: first purchase at acquisition, then Poisson(λ) purchases until dropout after one of them.
    const purchaseRate = random.gamma(purchases.r, 1 / purchases.alpha);
    const dropoutProbability = random.beta(purchases.a, purchases.b);
    let days = random.uniform() * period.days;
    appendOccasion(days);
    for (;;) {
      days += random.exponential(purchaseRate);
      if (days >= period.days) break;
      appendOccasion(days);
      if (random.chance(dropoutProbability)) break;
    }

    for (const item of pendingReturns) {
      appendRow(customerId, item.second, -item.cents, -item.quantity);
      tally.returns++;
    }
    pendingReturns = [];

    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = '';
      onProgress?.(tally.rows);
    }
  }
  yield chunk;
  onProgress?.(tally.rows);
}
