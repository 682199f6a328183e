-- KPI reports (/api/v1/reports/sales) group orders by their UTC day, week or month. Without
-- statistics on those expressions the planner assumes one group per order and sorts every row;
-- with them it sees a few hundred groups and aggregates in a hash table. The expressions must
-- match soleflip.orders.queries._reports.SALES_KEYS exactly.
CREATE STATISTICS order_sale_day ON
    ((date_trunc('day', created_at, 'UTC') AT TIME ZONE 'UTC')::date::text), currency
    FROM "order";
CREATE STATISTICS order_sale_week ON
    ((date_trunc('week', created_at, 'UTC') AT TIME ZONE 'UTC')::date::text), currency
    FROM "order";
CREATE STATISTICS order_sale_month ON
    ((date_trunc('month', created_at, 'UTC') AT TIME ZONE 'UTC')::date::text), currency
    FROM "order";
