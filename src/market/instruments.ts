import type { Instrument } from '../shared/market.js';

/**
 * Compact row: symbol, name, sector, reference price, annualised volatility,
 * relative trade intensity. A table reads (and reviews) better than 80 object
 * literals.
 */
type Row = readonly [string, string, string, number, number, number];

/*
 * Reference prices are round figures near recent levels, volatilities near
 * each name's realised one. Intensity is a relative share of the feed's trade
 * count: 1 is an ordinary large cap, and the most traded names (index ETFs,
 * TSLA, NVDA, AAPL) get around ten times that, as on the real tape.
 */
const ROWS: readonly Row[] = [
  // Technology
  ['AAPL', 'Apple Inc.', 'Technology', 229.5, 0.26, 9],
  ['MSFT', 'Microsoft Corporation', 'Technology', 428.15, 0.24, 7],
  ['NVDA', 'NVIDIA Corporation', 'Technology', 136.2, 0.5, 10],
  ['AVGO', 'Broadcom Inc.', 'Technology', 231.4, 0.45, 4],
  ['ORCL', 'Oracle Corporation', 'Technology', 171.8, 0.32, 2.5],
  ['CRM', 'Salesforce, Inc.', 'Technology', 301.25, 0.33, 2],
  ['ADBE', 'Adobe Inc.', 'Technology', 452.6, 0.32, 1.8],
  ['AMD', 'Advanced Micro Devices, Inc.', 'Technology', 141.3, 0.5, 6],
  ['INTC', 'Intel Corporation', 'Technology', 22.45, 0.48, 4],
  ['CSCO', 'Cisco Systems, Inc.', 'Technology', 58.7, 0.22, 2],
  ['QCOM', 'QUALCOMM Incorporated', 'Technology', 161.9, 0.38, 2],
  ['IBM', 'International Business Machines Corporation', 'Technology', 231.1, 0.24, 1.2],
  ['TXN', 'Texas Instruments Incorporated', 'Technology', 192.35, 0.28, 1],
  // Communication Services
  ['GOOGL', 'Alphabet Inc. Class A', 'Communication Services', 176.4, 0.3, 6],
  ['META', 'Meta Platforms, Inc.', 'Communication Services', 585.2, 0.36, 6],
  ['NFLX', 'Netflix, Inc.', 'Communication Services', 897.1, 0.35, 2.5],
  ['DIS', 'The Walt Disney Company', 'Communication Services', 111.6, 0.26, 2],
  ['T', 'AT&T Inc.', 'Communication Services', 27.15, 0.2, 2],
  ['VZ', 'Verizon Communications Inc.', 'Communication Services', 42.3, 0.19, 1.8],
  ['CMCSA', 'Comcast Corporation', 'Communication Services', 38.9, 0.25, 1.5],
  // Consumer Discretionary
  ['AMZN', 'Amazon.com, Inc.', 'Consumer Discretionary', 201.7, 0.32, 8],
  ['TSLA', 'Tesla, Inc.', 'Consumer Discretionary', 338.6, 0.62, 11],
  ['HD', 'The Home Depot, Inc.', 'Consumer Discretionary', 401.2, 0.22, 1.5],
  ['MCD', "McDonald's Corporation", 'Consumer Discretionary', 294.8, 0.18, 1.2],
  ['NKE', 'NIKE, Inc.', 'Consumer Discretionary', 72.4, 0.32, 2],
  ['SBUX', 'Starbucks Corporation', 'Consumer Discretionary', 95.3, 0.3, 1.5],
  ['LOW', "Lowe's Companies, Inc.", 'Consumer Discretionary', 252.9, 0.24, 1],
  ['BKNG', 'Booking Holdings Inc.', 'Consumer Discretionary', 4912.5, 0.3, 0.5],
  // Consumer Staples
  ['WMT', 'Walmart Inc.', 'Consumer Staples', 92.15, 0.18, 3],
  ['PG', 'The Procter & Gamble Company', 'Consumer Staples', 168.4, 0.16, 1.5],
  ['KO', 'The Coca-Cola Company', 'Consumer Staples', 68.2, 0.15, 1.8],
  ['PEP', 'PepsiCo, Inc.', 'Consumer Staples', 151.3, 0.17, 1.3],
  ['COST', 'Costco Wholesale Corporation', 'Consumer Staples', 948.7, 0.2, 1],
  ['PM', 'Philip Morris International Inc.', 'Consumer Staples', 149.6, 0.22, 1],
  // Financials
  ['JPM', 'JPMorgan Chase & Co.', 'Financials', 246.3, 0.22, 3],
  ['BAC', 'Bank of America Corporation', 'Financials', 44.25, 0.26, 3.5],
  ['WFC', 'Wells Fargo & Company', 'Financials', 72.8, 0.28, 2],
  ['GS', 'The Goldman Sachs Group, Inc.', 'Financials', 592.4, 0.28, 1.2],
  ['MS', 'Morgan Stanley', 'Financials', 131.6, 0.27, 1.5],
  ['V', 'Visa Inc.', 'Financials', 321.9, 0.19, 2],
  ['MA', 'Mastercard Incorporated', 'Financials', 531.2, 0.2, 1.3],
  ['BRK.B', 'Berkshire Hathaway Inc. Class B', 'Financials', 471.5, 0.16, 1.5],
  ['AXP', 'American Express Company', 'Financials', 301.4, 0.26, 1],
  // Health Care
  ['UNH', 'UnitedHealth Group Incorporated', 'Health Care', 312.6, 0.3, 2],
  ['JNJ', 'Johnson & Johnson', 'Health Care', 155.8, 0.16, 1.5],
  ['LLY', 'Eli Lilly and Company', 'Health Care', 781.3, 0.34, 2.5],
  ['PFE', 'Pfizer Inc.', 'Health Care', 25.4, 0.24, 2.5],
  ['MRK', 'Merck & Co., Inc.', 'Health Care', 85.9, 0.24, 1.5],
  ['ABBV', 'AbbVie Inc.', 'Health Care', 191.2, 0.24, 1.3],
  ['TMO', 'Thermo Fisher Scientific Inc.', 'Health Care', 512.7, 0.24, 0.8],
  ['ABT', 'Abbott Laboratories', 'Health Care', 131.45, 0.19, 1],
  // Industrials
  ['CAT', 'Caterpillar Inc.', 'Industrials', 372.1, 0.28, 1.2],
  ['BA', 'The Boeing Company', 'Industrials', 211.3, 0.36, 2],
  ['GE', 'GE Aerospace', 'Industrials', 242.6, 0.3, 1.5],
  ['HON', 'Honeywell International Inc.', 'Industrials', 214.9, 0.2, 1],
  ['UPS', 'United Parcel Service, Inc.', 'Industrials', 101.2, 0.28, 1.2],
  ['RTX', 'RTX Corporation', 'Industrials', 151.7, 0.2, 1],
  ['DE', 'Deere & Company', 'Industrials', 482.3, 0.25, 0.8],
  ['UNP', 'Union Pacific Corporation', 'Industrials', 231.5, 0.21, 0.8],
  // Energy
  ['XOM', 'Exxon Mobil Corporation', 'Energy', 109.8, 0.24, 2.5],
  ['CVX', 'Chevron Corporation', 'Energy', 154.6, 0.24, 1.8],
  ['COP', 'ConocoPhillips', 'Energy', 94.7, 0.29, 1.3],
  ['SLB', 'Schlumberger Limited', 'Energy', 36.2, 0.34, 1.3],
  ['EOG', 'EOG Resources, Inc.', 'Energy', 121.4, 0.28, 0.8],
  // Utilities
  ['NEE', 'NextEra Energy, Inc.', 'Utilities', 72.35, 0.24, 1.5],
  ['DUK', 'Duke Energy Corporation', 'Utilities', 119.6, 0.17, 0.8],
  ['SO', 'The Southern Company', 'Utilities', 90.15, 0.17, 0.8],
  ['D', 'Dominion Energy, Inc.', 'Utilities', 56.3, 0.2, 0.7],
  // Real Estate
  ['PLD', 'Prologis, Inc.', 'Real Estate', 110.4, 0.27, 0.8],
  ['AMT', 'American Tower Corporation', 'Real Estate', 201.8, 0.26, 0.7],
  ['EQIX', 'Equinix, Inc.', 'Real Estate', 852.3, 0.25, 0.5],
  ['O', 'Realty Income Corporation', 'Real Estate', 57.2, 0.2, 1],
  ['SPG', 'Simon Property Group, Inc.', 'Real Estate', 171.9, 0.24, 0.6],
  // Materials
  ['LIN', 'Linde plc', 'Materials', 451.2, 0.18, 0.7],
  ['SHW', 'The Sherwin-Williams Company', 'Materials', 342.5, 0.24, 0.6],
  ['FCX', 'Freeport-McMoRan Inc.', 'Materials', 42.6, 0.4, 2],
  ['NEM', 'Newmont Corporation', 'Materials', 55.1, 0.36, 1.3],
  ['DOW', 'Dow Inc.', 'Materials', 25.3, 0.33, 1],
  // Exchange-traded funds: the busiest symbols on the tape.
  ['SPY', 'SPDR S&P 500 ETF Trust', 'ETF', 591.4, 0.15, 12],
  ['QQQ', 'Invesco QQQ Trust, Series 1', 'ETF', 512.3, 0.2, 9],
  ['IWM', 'iShares Russell 2000 ETF', 'ETF', 221.7, 0.22, 5],
  ['DIA', 'SPDR Dow Jones Industrial Average ETF Trust', 'ETF', 431.6, 0.15, 1.5],
];

/** The built-in universe: 82 US-listed names across the 11 GICS sectors, plus four index ETFs. */
export const DEFAULT_INSTRUMENTS: readonly Instrument[] = Object.freeze(
  ROWS.map(([symbol, name, sector, refPrice, volatility, tradeIntensity]) =>
    Object.freeze({ symbol, name, sector, refPrice, volatility, tradeIntensity }),
  ),
);
