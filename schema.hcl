# The desired schema of the OpenSQT store, in Atlas HCL. The SQL in migrations/ must produce exactly this
# (tests/store/test_schema.py checks it on SQLite and PostgreSQL, and against opensqt/store/tables.py).
# Types are the portable subset (text, bigint, integer, boolean); on PostgreSQL use schema "public".

table "audit_log" {
  schema = schema.main
  column "id" {
    null = false
    type = text
  }
  column "ts" {
    null = false
    type = bigint
  }
  column "who" {
    null = false
    type = text
  }
  column "action" {
    null = false
    type = text
  }
  column "target" {
    null = false
    type = text
  }
  column "result" {
    null = false
    type = text
  }
  column "details" {
    null = false
    type = text
  }
  column "bot" {
    null = true
    type = text
  }
  primary_key {
    columns = [column.id]
  }
  index "audit_log_ts" {
    columns = [column.ts]
  }
}

table "bots" {
  schema = schema.main
  column "name" {
    null = false
    type = text
  }
  column "strategy" {
    null = false
    type = text
  }
  column "venue" {
    null = false
    type = text
  }
  column "config_hash" {
    null = false
    type = text
  }
  column "created_at" {
    null = false
    type = bigint
  }
  column "updated_at" {
    null = false
    type = bigint
  }
  primary_key {
    columns = [column.name]
  }
}

table "processed_updates" {
  schema = schema.main
  column "venue" {
    null = false
    type = text
  }
  column "symbol" {
    null = false
    type = text
  }
  column "venue_order_id" {
    null = false
    type = text
  }
  column "filled" {
    null = false
    type = text
  }
  column "status" {
    null = false
    type = text
  }
  column "bot" {
    null = false
    type = text
  }
  column "client_order_id" {
    null = false
    type = text
  }
  column "applied_at" {
    null = false
    type = bigint
  }
  primary_key {
    columns = [column.venue, column.symbol, column.venue_order_id, column.filled, column.status]
  }
}

table "arbitrage_legs" {
  schema = schema.main
  column "bot" {
    null = false
    type = text
  }
  column "position_id" {
    null = false
    type = text
  }
  column "leg" {
    null = false
    type = text
  }
  column "symbol" {
    null = false
    type = text
  }
  column "venue" {
    null = false
    type = text
  }
  column "product" {
    null = false
    type = text
  }
  column "side" {
    null = false
    type = text
  }
  column "size" {
    null = false
    type = text
  }
  column "entry_price" {
    null = true
    type = text
  }
  column "funding_collected" {
    null = false
    type = text
  }
  column "fees" {
    null = false
    type = text
  }
  column "status" {
    null = false
    type = text
  }
  column "opened_at" {
    null = false
    type = bigint
  }
  column "updated_at" {
    null = false
    type = bigint
  }
  primary_key {
    columns = [column.bot, column.position_id, column.leg]
  }
  foreign_key "arbitrage_legs_bot_fkey" {
    columns     = [column.bot]
    ref_columns = [table.bots.column.name]
    on_update   = NO_ACTION
    on_delete   = NO_ACTION
  }
  index "arbitrage_legs_bot_symbol" {
    columns = [column.bot, column.symbol]
  }
}

table "fills" {
  schema = schema.main
  column "venue" {
    null = false
    type = text
  }
  column "symbol" {
    null = false
    type = text
  }
  column "trade_id" {
    null = false
    type = text
  }
  column "bot" {
    null = false
    type = text
  }
  column "client_order_id" {
    null = false
    type = text
  }
  column "venue_order_id" {
    null = true
    type = text
  }
  column "side" {
    null = false
    type = text
  }
  column "price" {
    null = false
    type = text
  }
  column "quantity" {
    null = false
    type = text
  }
  column "fee" {
    null = false
    type = text
  }
  column "fee_asset" {
    null = false
    type = text
  }
  column "liquidity" {
    null = false
    type = text
  }
  column "realized_pnl" {
    null = true
    type = text
  }
  column "ts_event" {
    null = false
    type = bigint
  }
  primary_key {
    columns = [column.venue, column.symbol, column.trade_id]
  }
  foreign_key "fills_bot_fkey" {
    columns     = [column.bot]
    ref_columns = [table.bots.column.name]
    on_update   = NO_ACTION
    on_delete   = NO_ACTION
  }
  index "fills_bot_symbol" {
    columns = [column.bot, column.symbol]
  }
  index "fills_order" {
    columns = [column.venue, column.client_order_id]
  }
}

table "orders" {
  schema = schema.main
  column "venue" {
    null = false
    type = text
  }
  column "client_order_id" {
    null = false
    type = text
  }
  column "bot" {
    null = false
    type = text
  }
  column "venue_order_id" {
    null = true
    type = text
  }
  column "symbol" {
    null = false
    type = text
  }
  column "side" {
    null = false
    type = text
  }
  column "type" {
    null = false
    type = text
  }
  column "time_in_force" {
    null = false
    type = text
  }
  column "price" {
    null = true
    type = text
  }
  column "quantity" {
    null = false
    type = text
  }
  column "filled" {
    null = false
    type = text
  }
  column "average_price" {
    null = true
    type = text
  }
  column "status" {
    null = false
    type = text
  }
  column "reduce_only" {
    null = false
    type = boolean
  }
  column "post_only" {
    null = false
    type = boolean
  }
  column "ts_event" {
    null = false
    type = bigint
  }
  column "ts_init" {
    null = false
    type = bigint
  }
  column "updated" {
    null = false
    type = bigint
  }
  primary_key {
    columns = [column.venue, column.client_order_id]
  }
  foreign_key "orders_bot_fkey" {
    columns     = [column.bot]
    ref_columns = [table.bots.column.name]
    on_update   = NO_ACTION
    on_delete   = NO_ACTION
  }
  index "orders_bot_symbol_status" {
    columns = [column.bot, column.symbol, column.status]
  }
  index "orders_venue_order_id" {
    unique  = true
    columns = [column.venue, column.symbol, column.venue_order_id]
  }
}

table "pnl_history" {
  schema = schema.main
  column "bot" {
    null = false
    type = text
  }
  column "venue" {
    null = false
    type = text
  }
  column "symbol" {
    null = false
    type = text
  }
  column "kind" {
    null = false
    type = text
  }
  column "ref_id" {
    null = false
    type = text
  }
  column "amount" {
    null = false
    type = text
  }
  column "asset" {
    null = false
    type = text
  }
  column "quantity" {
    null = true
    type = text
  }
  column "entry_price" {
    null = true
    type = text
  }
  column "exit_price" {
    null = true
    type = text
  }
  column "ts_event" {
    null = false
    type = bigint
  }
  primary_key {
    columns = [column.bot, column.venue, column.symbol, column.kind, column.ref_id]
  }
  foreign_key "pnl_history_bot_fkey" {
    columns     = [column.bot]
    ref_columns = [table.bots.column.name]
    on_update   = NO_ACTION
    on_delete   = NO_ACTION
  }
  index "pnl_history_bot_ts" {
    columns = [column.bot, column.ts_event]
  }
}

table "positions" {
  schema = schema.main
  column "bot" {
    null = false
    type = text
  }
  column "venue" {
    null = false
    type = text
  }
  column "symbol" {
    null = false
    type = text
  }
  column "size" {
    null = false
    type = text
  }
  column "entry_price" {
    null = false
    type = text
  }
  column "unrealized_pnl" {
    null = false
    type = text
  }
  column "liquidation_price" {
    null = true
    type = text
  }
  column "leverage" {
    null = false
    type = integer
  }
  column "mark_price" {
    null = true
    type = text
  }
  column "ts_event" {
    null = false
    type = bigint
  }
  primary_key {
    columns = [column.bot, column.venue, column.symbol]
  }
  foreign_key "positions_bot_fkey" {
    columns     = [column.bot]
    ref_columns = [table.bots.column.name]
    on_update   = NO_ACTION
    on_delete   = NO_ACTION
  }
}

table "slots" {
  schema = schema.main
  column "bot" {
    null = false
    type = text
  }
  column "symbol" {
    null = false
    type = text
  }
  column "price" {
    null = false
    type = text
  }
  column "slot_status" {
    null = false
    type = text
  }
  column "position_status" {
    null = false
    type = text
  }
  column "position_qty" {
    null = false
    type = text
  }
  column "client_order_id" {
    null = true
    type = text
  }
  column "venue_order_id" {
    null = true
    type = text
  }
  column "order_side" {
    null = true
    type = text
  }
  column "order_price" {
    null = true
    type = text
  }
  column "order_qty" {
    null = false
    type = text
  }
  column "order_status" {
    null = true
    type = text
  }
  column "filled_qty" {
    null = false
    type = text
  }
  column "post_only_failures" {
    null = false
    type = integer
  }
  column "attempt" {
    null = false
    type = integer
  }
  column "ts_update" {
    null = false
    type = bigint
  }
  column "position_side" {
    null = true
    type = text
  }
  primary_key {
    columns = [column.bot, column.symbol, column.price]
  }
  foreign_key "slots_bot_fkey" {
    columns     = [column.bot]
    ref_columns = [table.bots.column.name]
    on_update   = NO_ACTION
    on_delete   = NO_ACTION
  }
}

table "workflows" {
  schema = schema.main
  column "workflow_id" {
    null = false
    type = text
  }
  column "step" {
    null = false
    type = text
  }
  column "bot" {
    null = false
    type = text
  }
  column "kind" {
    null = false
    type = text
  }
  column "status" {
    null = false
    type = text
  }
  column "details" {
    null = false
    type = text
  }
  column "started_at" {
    null = false
    type = bigint
  }
  column "updated_at" {
    null = false
    type = bigint
  }
  primary_key {
    columns = [column.workflow_id, column.step]
  }
  foreign_key "workflows_bot_fkey" {
    columns     = [column.bot]
    ref_columns = [table.bots.column.name]
    on_update   = NO_ACTION
    on_delete   = NO_ACTION
  }
  index "workflows_bot_status" {
    columns = [column.bot, column.status]
  }
}

schema "main" {
}
