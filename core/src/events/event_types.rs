//! The event types, listed once. Everything that has one item per event type is generated from this
//! list: the core's `EventType` and `Payload` enums (in `envelope.rs`), the npm package's typed
//! builders and the plain-ABI module's `build*` operations (`host-wasm`), and the parity cases
//! (`tests/src`). Adding an event type is one line here, its payload struct in `payload.rs`, its
//! aggregate in `Payload::aggregate`, its rules in `validation/` and its definition in
//! `schemas/events.schema.json`.

/// Calls `$callback! { ... }` with one entry per event type, in the contract's order:
/// `/// doc` `EventType variant (payload struct) js_builder_name "TypeScript input type";`.
///
/// The doc line is the builder's documentation in every binding; the builder name and the
/// TypeScript input type are how the npm package names them (wasm-bindgen needs them literally).
#[macro_export]
macro_rules! for_each_event_type {
    ($callback:ident) => {
        $callback! {
            /// Builds and validates a WPStatusChanged event (a WP moved between lanes).
            WPStatusChanged(WpStatusChanged) buildWpStatusChanged "WpStatusChangedInput";
            /// Builds and validates a WPCreated event.
            WPCreated(WpCreated) buildWpCreated "WpCreatedInput";
            /// Builds and validates a WPAssigned event (an agent took a WP for implementation or review).
            WPAssigned(WpAssigned) buildWpAssigned "WpAssignedInput";
            /// Builds and validates a FeatureCreated event.
            FeatureCreated(FeatureCreated) buildFeatureCreated "FeatureCreatedInput";
            /// Builds and validates a FeatureCompleted event.
            FeatureCompleted(FeatureCompleted) buildFeatureCompleted "FeatureCompletedInput";
            /// Builds and validates a HistoryAdded event (a note, review, error or comment on a WP).
            HistoryAdded(HistoryAdded) buildHistoryAdded "HistoryAddedInput";
            /// Builds and validates an ErrorLogged event (aggregate: the WP, or the feature 'error' without one).
            ErrorLogged(ErrorLogged) buildErrorLogged "ErrorLoggedInput";
            /// Builds and validates a DependencyResolved event (`wp_id` is the dependent it unblocks).
            DependencyResolved(DependencyResolved) buildDependencyResolved "DependencyResolvedInput";
        }
    };
}
