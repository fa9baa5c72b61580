/**
 * Times the CLV maths on simulated customers: `npx tsx bench/clv.ts [customers]` (default 1,000,000).
 * Customers are summarised in whole days as the pipeline does, first purchases spread over three years.
 */
import { fitBgNbd, fitGammaGamma, predictClv } from '../lambdas/core/clv/index.ts';
import { seededRandom, simulateBgNbd, simulateSpend } from '../test/core/clv/simulate.ts';

const customers = Number(process.argv[2] ?? 1_000_000);
const random = seededRandom(20240601);
const ages = Float64Array.from({ length: customers }, () => Math.floor(random.uniform() * 1096));
const summary = simulateBgNbd({ r: 0.25, alpha: 30, a: 0.8, b: 2.4 }, ages, random, true);
const monetary = simulateSpend({ p: 6, q: 3.7, gamma: 15 }, summary.x, random);

const seconds = (start: number): string => ((performance.now() - start) / 1000).toFixed(2);

let start = performance.now();
const bgNbd = fitBgNbd(summary);
console.log(`fitBgNbd: ${seconds(start)} s`, bgNbd);

start = performance.now();
const gammaGamma = fitGammaGamma({ x: summary.x, monetary });
console.log(`fitGammaGamma: ${seconds(start)} s`, gammaGamma);

start = performance.now();
const prediction = predictClv(bgNbd.params, gammaGamma.params, { ...summary, monetary });
const totalClv = prediction.predictedClv.reduce((sum, value) => sum + value, 0);
console.log(`predictClv: ${seconds(start)} s, mean CLV ${(totalClv / customers).toFixed(2)}`);
