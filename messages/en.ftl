# Passaggio web messages, English. One file per language (Fluent syntax:
# https://projectfluent.org/fluent/guide/). Shared by every front-end: ids are prefixed by the
# page that uses them (driver-, worker-, console-) or common-.
# To add a language: copy this file to <code>.ftl, translate the values, rebuild (make web).

common-app-name = Passaggio
common-language = Language
common-choose-language = Choose
language-name = English

## Sign-in
driver-sign-in-title = Driver sign-in
driver-username = Username
driver-password = Password
driver-sign-in = Sign in
driver-sign-in-failed = Wrong username or password.
driver-sign-in-offline = No connection: signing in needs the network.
driver-session-expired = Your login has expired. Sign in again: nothing waiting to be sent is lost.
driver-sign-out = Sign out
driver-sign-out-refused = { $count ->
    [one] Cannot sign out: 1 action is still waiting to be sent.
   *[other] Cannot sign out: { $count } actions are still waiting to be sent.
}

## Sync status
driver-outbox-waiting = { $count ->
    [one] 1 waiting to send
   *[other] { $count } waiting to send
}
driver-outbox-all-sent = all sent ✓
driver-online = Online
driver-offline = Offline
driver-updated-at = Updated at { $time }
driver-refresh = Refresh

## Runs
driver-runs-title = Today's runs
driver-no-runs = No runs for you today.
driver-run-summary = { $vehicle } · { $from }–{ $to } · { $stops ->
    [one] 1 stop
   *[other] { $stops } stops
}
driver-open-run = Open run
driver-back = Back to runs
driver-run-title = Run { $vehicle }
driver-estimated-times = Times are estimates (no road data).
driver-free-seats = { $seats ->
    [one] 1 free seat
   *[other] { $seats } free seats
}
driver-free-wheelchair = { $places ->
    [one] 1 wheelchair place
   *[other] { $places } wheelchair places
}
driver-free-now = Free now:
driver-free-on-arrival = Free on arrival:
driver-run-done = Run completed. Thank you!
driver-run-unavailable = This run is no longer yours or was cancelled. Ask the coordinator.

## Stops
driver-next-stop = Next stop
driver-stop = Stop { $n }
driver-stop-start = Start: { $place }
driver-stop-end = End: { $place }
driver-kind-pickup = Pick up
driver-kind-dropoff = Drop off
driver-kind-start = Start
driver-kind-end = End
driver-planned = planned { $time }
driver-landmark = Landmark: { $landmark }
driver-passengers = { $count ->
    [one] 1 person
   *[other] { $count } people
}
driver-wheelchair = wheelchair
driver-languages = speaks { $languages }
driver-rider-expected = expected
driver-rider-on_board = on board
driver-rider-dropped_off = dropped off
driver-rider-no_show = did not come
driver-rider-cancelled = cancelled
driver-stop-status-pending = to do
driver-stop-status-arrived = arrived
driver-stop-status-done = done
driver-stop-status-skipped = skipped

## Actions
driver-action-arrived = Arrived
driver-action-boarded = On board
driver-action-no_show = No-show
driver-action-dropped_off = Dropped off
driver-action-note = Add a note
driver-no-show-wait = No-show possible in { $time }
driver-no-show-ready = Waited { $minutes } min: no-show possible
driver-over-capacity = Not enough free places: { $seats } free seats, { $places } wheelchair places.
driver-undo = Undo “{ $action }” ({ $seconds } s)
driver-undone = Undone.
driver-navigate = Navigate
driver-navigate-geo = Open in maps
driver-navigate-google = Google Maps directions
driver-notes-title = Note for this stop
driver-note-rider_late = Rider late
driver-note-meeting_point_moved = Meeting point moved
driver-note-road_blocked = Road blocked
driver-note-vehicle_problem = Vehicle problem
driver-note-rider_unwell = Rider unwell
driver-note-language_help_needed = Language help needed
driver-note-sent = Note saved.
driver-cancel = Cancel

## Refused items
driver-refused-title = Not accepted by the office
driver-refused-item = { $action } at stop { $stop }: { $reason }
driver-refused-over_capacity = the vehicle was full
driver-refused-undo_too_late = too late to undo
driver-refused-undo_after_record = already recorded, tell the coordinator
driver-refused-other = refused ({ $code })
driver-dismiss = OK

## Changes by dispatch
driver-changed = The office changed this run.
driver-changed-added = { $count ->
    [one] 1 new rider
   *[other] { $count } new riders
}
driver-changed-removed = { $count ->
    [one] 1 rider cancelled or moved away
   *[other] { $count } riders cancelled or moved away
}
driver-changed-moved = { $count ->
    [one] 1 time changed
   *[other] { $count } times changed
}
driver-update-ready = A new app version is ready; it will start after the run.

## Map
driver-map = Map of the run
driver-map-attribution = © OpenStreetMap contributors
driver-map-sketch = Straight lines between stops: follow the navigation app.
driver-map-roads = The route on the roads, from the office's road data.
driver-you-are-here = You are here
