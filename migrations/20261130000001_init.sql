-- OpenSQT initial schema. Portable: the same statements run on SQLite and PostgreSQL.
-- Money is exact decimal TEXT; timestamps are epoch milliseconds (bigint).

-- Create "bots" table
CREATE TABLE "bots" (
  "name" text NOT NULL,
  "strategy" text NOT NULL,
  "venue" text NOT NULL,
  "config_hash" text NOT NULL,
  "created_at" bigint NOT NULL,
  "updated_at" bigint NOT NULL,
  PRIMARY KEY ("name")
);
-- Create "orders" table
CREATE TABLE "orders" (
  "venue" text NOT NULL,
  "client_order_id" text NOT NULL,
  "bot" text NOT NULL,
  "venue_order_id" text NULL,
  "symbol" text NOT NULL,
  "side" text NOT NULL,
  "type" text NOT NULL,
  "time_in_force" text NOT NULL,
  "price" text NULL,
  "quantity" text NOT NULL,
  "filled" text NOT NULL,
  "average_price" text NULL,
  "status" text NOT NULL,
  "reduce_only" boolean NOT NULL,
  "post_only" boolean NOT NULL,
  "ts_event" bigint NOT NULL,
  "ts_init" bigint NOT NULL,
  "updated" bigint NOT NULL,
  PRIMARY KEY ("venue", "client_order_id"),
  CONSTRAINT "orders_bot_fkey" FOREIGN KEY ("bot") REFERENCES "bots" ("name")
);
-- Create index "orders_bot_symbol_status" to table: "orders"
CREATE INDEX "orders_bot_symbol_status" ON "orders" ("bot", "symbol", "status");
-- Create index "orders_venue_order_id" to table: "orders"
CREATE UNIQUE INDEX "orders_venue_order_id" ON "orders" ("venue", "symbol", "venue_order_id");
-- Create "fills" table
CREATE TABLE "fills" (
  "venue" text NOT NULL,
  "symbol" text NOT NULL,
  "trade_id" text NOT NULL,
  "bot" text NOT NULL,
  "client_order_id" text NOT NULL,
  "venue_order_id" text NULL,
  "side" text NOT NULL,
  "price" text NOT NULL,
  "quantity" text NOT NULL,
  "fee" text NOT NULL,
  "fee_asset" text NOT NULL,
  "liquidity" text NOT NULL,
  "realized_pnl" text NULL,
  "ts_event" bigint NOT NULL,
  PRIMARY KEY ("venue", "symbol", "trade_id"),
  CONSTRAINT "fills_bot_fkey" FOREIGN KEY ("bot") REFERENCES "bots" ("name")
);
-- Create index "fills_bot_symbol" to table: "fills"
CREATE INDEX "fills_bot_symbol" ON "fills" ("bot", "symbol");
-- Create index "fills_order" to table: "fills"
CREATE INDEX "fills_order" ON "fills" ("venue", "client_order_id");
-- Create "slots" table
CREATE TABLE "slots" (
  "bot" text NOT NULL,
  "symbol" text NOT NULL,
  "price" text NOT NULL,
  "slot_status" text NOT NULL,
  "position_status" text NOT NULL,
  "position_qty" text NOT NULL,
  "client_order_id" text NULL,
  "venue_order_id" text NULL,
  "order_side" text NULL,
  "order_price" text NULL,
  "order_qty" text NOT NULL,
  "order_status" text NULL,
  "filled_qty" text NOT NULL,
  "post_only_failures" integer NOT NULL,
  "attempt" integer NOT NULL,
  "ts_update" bigint NOT NULL,
  "position_side" text NULL,
  PRIMARY KEY ("bot", "symbol", "price"),
  CONSTRAINT "slots_bot_fkey" FOREIGN KEY ("bot") REFERENCES "bots" ("name")
);
-- Create "positions" table
CREATE TABLE "positions" (
  "bot" text NOT NULL,
  "venue" text NOT NULL,
  "symbol" text NOT NULL,
  "size" text NOT NULL,
  "entry_price" text NOT NULL,
  "unrealized_pnl" text NOT NULL,
  "liquidation_price" text NULL,
  "leverage" integer NOT NULL,
  "mark_price" text NULL,
  "ts_event" bigint NOT NULL,
  PRIMARY KEY ("bot", "venue", "symbol"),
  CONSTRAINT "positions_bot_fkey" FOREIGN KEY ("bot") REFERENCES "bots" ("name")
);
-- Create "pnl_history" table
CREATE TABLE "pnl_history" (
  "bot" text NOT NULL,
  "venue" text NOT NULL,
  "symbol" text NOT NULL,
  "kind" text NOT NULL,
  "ref_id" text NOT NULL,
  "amount" text NOT NULL,
  "asset" text NOT NULL,
  "quantity" text NULL,
  "entry_price" text NULL,
  "exit_price" text NULL,
  "ts_event" bigint NOT NULL,
  PRIMARY KEY ("bot", "venue", "symbol", "kind", "ref_id"),
  CONSTRAINT "pnl_history_bot_fkey" FOREIGN KEY ("bot") REFERENCES "bots" ("name")
);
-- Create index "pnl_history_bot_ts" to table: "pnl_history"
CREATE INDEX "pnl_history_bot_ts" ON "pnl_history" ("bot", "ts_event");
-- Create "audit_log" table
CREATE TABLE "audit_log" (
  "id" text NOT NULL,
  "ts" bigint NOT NULL,
  "who" text NOT NULL,
  "action" text NOT NULL,
  "target" text NOT NULL,
  "result" text NOT NULL,
  "details" text NOT NULL,
  "bot" text NULL,
  PRIMARY KEY ("id")
);
-- Create index "audit_log_ts" to table: "audit_log"
CREATE INDEX "audit_log_ts" ON "audit_log" ("ts");
-- Create "processed_updates" table
CREATE TABLE "processed_updates" (
  "venue" text NOT NULL,
  "symbol" text NOT NULL,
  "venue_order_id" text NOT NULL,
  "filled" text NOT NULL,
  "status" text NOT NULL,
  "bot" text NOT NULL,
  "client_order_id" text NOT NULL,
  "applied_at" bigint NOT NULL,
  PRIMARY KEY ("venue", "symbol", "venue_order_id", "filled", "status")
);
-- Create "arbitrage_legs" table
CREATE TABLE "arbitrage_legs" (
  "bot" text NOT NULL,
  "position_id" text NOT NULL,
  "leg" text NOT NULL,
  "symbol" text NOT NULL,
  "venue" text NOT NULL,
  "product" text NOT NULL,
  "side" text NOT NULL,
  "size" text NOT NULL,
  "entry_price" text NULL,
  "funding_collected" text NOT NULL,
  "fees" text NOT NULL,
  "status" text NOT NULL,
  "opened_at" bigint NOT NULL,
  "updated_at" bigint NOT NULL,
  PRIMARY KEY ("bot", "position_id", "leg"),
  CONSTRAINT "arbitrage_legs_bot_fkey" FOREIGN KEY ("bot") REFERENCES "bots" ("name")
);
-- Create index "arbitrage_legs_bot_symbol" to table: "arbitrage_legs"
CREATE INDEX "arbitrage_legs_bot_symbol" ON "arbitrage_legs" ("bot", "symbol");
-- Create "workflows" table
CREATE TABLE "workflows" (
  "workflow_id" text NOT NULL,
  "step" text NOT NULL,
  "bot" text NOT NULL,
  "kind" text NOT NULL,
  "status" text NOT NULL,
  "details" text NOT NULL,
  "started_at" bigint NOT NULL,
  "updated_at" bigint NOT NULL,
  PRIMARY KEY ("workflow_id", "step"),
  CONSTRAINT "workflows_bot_fkey" FOREIGN KEY ("bot") REFERENCES "bots" ("name")
);
-- Create index "workflows_bot_status" to table: "workflows"
CREATE INDEX "workflows_bot_status" ON "workflows" ("bot", "status");
