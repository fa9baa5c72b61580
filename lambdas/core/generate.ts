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
/** Bytes per chunk handed to the stream: big enough that stream overhead is negligible. */
const CHUNK_BYTES = 1 << 20;
/** Bound that keeps item counts within the Poisson sampler's range for very large baskets. */
const MAX_EXTRA_ITEMS_MEAN = 50;
/** Fastest deflate level: at level 6 gzip takes three times as long as generating (files ~30 % smaller). */
const GZIP_LEVEL = 1;
const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

/** Writes the generated transactions to `options.out`; `onProgress` gets the rows written so far. */
export async function generateTransactions(
  options: GenerateOptions,
  onProgress?: (rowsWritten: number) => void,
): Promise<GenerateResult> {
  if (!Number.isInteger(options.customers) || options.customers < 1) {
    throw new RangeError(`customers must be a positive integer, got ${options.customers}`);
  }
  const period = parsePeriod(options);
  const gzip = options.out.endsWith('.csv.gz');
  if (!gzip && !options.out.endsWith('.csv')) {
    throw new RangeError(`out must end with .csv or .csv.gz, got ${options.out}`);
  }
  const behaviour: CustomerBehaviour = { ...DEFAULT_BEHAVIOUR, ...options.behaviour };
  const simulation = new PurchaseSimulation(options.customers, new Random(options.seed), behaviour, period);
  const chunks = csvChunks(options.customers, simulation, onProgress);

  await mkdir(dirname(options.out), { recursive: true });
  const partial = `${options.out}.${process.pid}.partial`;
  try {
    const source = Readable.from(chunks, { highWaterMark: 4 });
    const file = createWriteStream(partial);
    await (gzip ? pipeline(source, createGzip({ level: GZIP_LEVEL }), file) : pipeline(source, file));
    await rename(partial, options.out);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  const tally = simulation.tally;
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
  simulation: PurchaseSimulation,
  onProgress: ((rowsWritten: number) => void) | undefined,
): Generator<Buffer> {
  for (let index = 1; index <= customers; index++) {
    simulation.simulateCustomer(index);
    const chunks = simulation.output.takeFullChunks();
    if (chunks.length > 0) {
      yield* chunks;
      onProgress?.(simulation.tally.rows);
    }
  }
  yield simulation.output.takeRest();
  onProgress?.(simulation.tally.rows);
}

/**
 * CSV text written straight into large byte chunks. Keeping rows out of long-lived JS strings matters:
 * concatenating them into big strings spent most of the time in the garbage collector.
 */
class ChunkedOutput {
  private buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  private full: Buffer[] = [];

  /** `text` is ASCII and shorter than a chunk. */
  append(text: string): void {
    if (this.used + text.length > CHUNK_BYTES) {
      this.full.push(this.buffer.subarray(0, this.used));
      this.buffer = Buffer.allocUnsafe(CHUNK_BYTES);
      this.used = 0;
    }
    this.used += this.buffer.write(text, this.used, 'latin1');
  }

  takeFullChunks(): Buffer[] {
    const chunks = this.full;
    this.full = [];
    return chunks;
  }

  takeRest(): Buffer {
    const rest = this.buffer.subarray(0, this.used);
    this.buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    this.used = 0;
    return rest;
  }
}

/** One pass over the customers, each simulated in turn from a single random stream (hence determinism). */
class PurchaseSimulation {
  readonly output = new ChunkedOutput();
  readonly tally: Tally = { rows: 0, returns: 0, firstSecond: Infinity, lastSecond: -Infinity };
  private readonly endSecond: number;
  private readonly idWidth: number;
  private transactionNumber = 0;
  private customerId = '';
  private spendRate = 0;
  private pendingReturns: { second: number; cents: number; quantity: number }[] = [];

  constructor(
    customers: number,
    private readonly random: Random,
    private readonly behaviour: CustomerBehaviour,
    private readonly period: Period,
  ) {
    this.endSecond = period.days * SECONDS_PER_DAY;
    this.idWidth = String(customers).length;
    this.output.append(`${GENERATED_CSV_HEADER}\n`);
  }

  simulateCustomer(index: number): void {
    const { purchases, spend } = this.behaviour;
    const random = this.random;
    this.customerId = `C${String(index).padStart(this.idWidth, '0')}`;
    this.spendRate = random.gamma(spend.q, 1 / spend.gamma);
    // BG/NBD: first purchase at acquisition, then Poisson(λ) purchases until dropout after one of them.
    const purchaseRate = random.gamma(purchases.r, 1 / purchases.alpha);
    const dropoutProbability = random.beta(purchases.a, purchases.b);
    let days = random.uniform() * this.period.days;
    this.appendOccasion(days);
    for (;;) {
      days += random.exponential(purchaseRate);
      if (days >= this.period.days) break;
      this.appendOccasion(days);
      if (random.chance(dropoutProbability)) break;
    }
    for (const item of this.pendingReturns) {
      this.appendRow(item.second, -item.cents, -item.quantity);
      this.tally.returns++;
    }
    this.pendingReturns = [];
  }

  private appendOccasion(days: number): void {
    const second = Math.floor(days * SECONDS_PER_DAY);
    this.appendOrder(second);
    if (!this.random.chance(this.behaviour.sameDayExtraOrderProbability)) return;
    const secondsLeftToday = SECONDS_PER_DAY - (second % SECONDS_PER_DAY);
    const extraOrders = 1 + this.random.poisson(this.behaviour.sameDayExtraOrdersPoissonMean);
    for (let extra = 0; extra < extraOrders; extra++) {
      this.appendOrder(second + Math.floor(this.random.uniform() * secondsLeftToday));
    }
  }

  private appendOrder(second: number): void {
    const { behaviour, random } = this;
    const cents = Math.max(1, Math.round(random.gamma(behaviour.spend.p, 1 / this.spendRate) * 100));
    const extraItemsMean = Math.min(MAX_EXTRA_ITEMS_MEAN, Math.max(0, cents / 100 / behaviour.averageItemPrice - 1));
    const quantity = 1 + random.poisson(extraItemsMean);
    this.appendRow(second, cents, quantity);
    if (!random.chance(behaviour.returnProbability)) return;
    const delay = random.between(behaviour.returnDelayDays.min, behaviour.returnDelayDays.max);
    const returnSecond = second + Math.floor(delay * SECONDS_PER_DAY);
    if (returnSecond >= this.endSecond) return;
    if (random.chance(behaviour.partialReturnProbability)) {
      const share = random.between(0.2, 0.8);
      this.pendingReturns.push({
        second: returnSecond,
        cents: Math.max(1, Math.round(cents * share)),
        quantity: Math.max(1, Math.round(quantity * share)),
      });
    } else {
      this.pendingReturns.push({ second: returnSecond, cents, quantity });
    }
  }

  private appendRow(second: number, cents: number, quantity: number): void {
    this.transactionNumber++;
    this.output.append(
      `${this.customerId},T${this.transactionNumber},${this.timestamp(second)},${money(cents)},${quantity}\n`,
    );
    const tally = this.tally;
    tally.rows++;
    if (second < tally.firstSecond) tally.firstSecond = second;
    if (second > tally.lastSecond) tally.lastSecond = second;
  }

  private timestamp(second: number): string {
    const day = Math.floor(second / SECONDS_PER_DAY);
    const ofDay = second - day * SECONDS_PER_DAY;
    const hour = Math.floor(ofDay / 3600);
    const minute = Math.floor((ofDay - hour * 3600) / 60);
    return `${this.period.dayPrefixes[day]}${TWO_DIGITS[hour]}:${TWO_DIGITS[minute]}:${TWO_DIGITS[ofDay % 60]}Z`;
  }
}

function money(cents: number): string {
  const magnitude = Math.abs(cents);
  return `${cents < 0 ? '-' : ''}${Math.floor(magnitude / 100)}.${TWO_DIGITS[magnitude % 100]}`;
}
