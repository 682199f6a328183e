-- Functions resolve the names in their bodies when they run, through the caller's search_path.
-- The service's own connections have `orders, public`; an operator's or the migration admin's
-- connection (or a BI tool's) may not, and a trigger fired by its write then failed with
-- "type stock_summary_unit does not exist". Every function that names a table, a type or
-- another function of this schema now carries the schema's search_path (the migration runs
-- with `orders, public`: FROM CURRENT pins that). `no_sale` names nothing and stays inlinable.
ALTER FUNCTION stock_item_audit() SET search_path FROM CURRENT;
ALTER FUNCTION stock_item_supplier() SET search_path FROM CURRENT;
ALTER FUNCTION fx_per_eur(text, date) SET search_path FROM CURRENT;
ALTER FUNCTION fx_cross(text, text, date) SET search_path FROM CURRENT;
ALTER FUNCTION fx_to(numeric, text, text, date) SET search_path FROM CURRENT;
ALTER FUNCTION sales_summary_add(text[], integer) SET search_path FROM CURRENT;
ALTER FUNCTION sales_fact_refresh(text[]) SET search_path FROM CURRENT;
ALTER FUNCTION sales_fact_on_order() SET search_path FROM CURRENT;
ALTER FUNCTION sales_fact_on_unit() SET search_path FROM CURRENT;
ALTER FUNCTION sales_fact_on_variant() SET search_path FROM CURRENT;
ALTER FUNCTION sales_fact_on_product() SET search_path FROM CURRENT;
ALTER FUNCTION stock_summary_add(stock_summary_unit[], integer) SET search_path FROM CURRENT;
ALTER FUNCTION stock_summary_on_unit() SET search_path FROM CURRENT;
