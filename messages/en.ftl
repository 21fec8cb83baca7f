# Passaggio web messages, English. One file per language (Fluent syntax:
# https://projectfluent.org/fluent/guide/). Shared by every front-end: ids are prefixed by the
# page that uses them (driver-, worker-, console-) or common-.
# To add a language: copy this file to <code>.ftl, translate the values, rebuild (make web).

common-app-name = Passaggio
common-language = Language
common-choose-language = Choose
# Days of the week, ISO numbering (1 = Monday); the pages show them before the date.
common-weekday = { $day ->
     [1] Monday
     [2] Tuesday
     [3] Wednesday
     [4] Thursday
     [5] Friday
     [6] Saturday
    *[7] Sunday
}
common-today = today
common-tomorrow = tomorrow
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
driver-break = Break { $from }–{ $to }, nobody on board
driver-next-break = Your next break: { $from }–{ $to } (45 minutes, EU driving-time rule)
driver-on-break = On your break since { $since }, until { $until }
driver-break-end = My break is over
driver-break-start = Start my break now
driver-break-due = Your break is due now (planned until { $to })
driver-break-taken = Break taken { $from }–{ $to }
driver-action-break_started = Break started
driver-action-break_ended = Break over
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

## Workers' pages (/w/): people book, see and cancel their own rides
worker-title = Passaggio: your rides
worker-sign-in-title = Sign in
worker-sign-in-help = Scan the QR code on your card, or type the code printed under it.
worker-code = Code on your card
worker-pin = PIN (only if you chose one)
worker-sign-in = Sign in
worker-sign-in-failed = This code does not work. Check it, or ask your Polo for a new card.
worker-too-many = Too many attempts. Wait a few minutes, then try again.
worker-hello = Hello { $name }
worker-home-book = Book a ride
worker-home-rides = My rides
worker-home-lines = Work lines
worker-home-report = Report a problem
worker-sign-out = Sign out
worker-signed-out = You are signed out. Nothing of yours stays on this phone.
worker-free = This ride is free. Never pay anyone for it.
worker-polo-phone = Your Polo: { $phone }
worker-book-title = Book a ride
worker-from = Pick me up at
worker-to = Where to
worker-dest-work = To work
worker-dest-polo = To the Polo
worker-dest-office = To an office
worker-dest-appointment = To an appointment
worker-place = Place
worker-choose = Choose…
worker-day = Day
worker-when = When
worker-arrive-by = Be there by
worker-leave-at = Leave at
worker-time = Time
worker-passengers = People travelling (you included)
worker-wheelchair = I travel in a wheelchair
worker-return = Also the way back, leaving at
worker-book-submit = Book
worker-result-confirmed = Booked. Pickup at { $time }.
worker-result-booked = Booked for { $date }. The pickup time is set when the day is planned: look at “My rides”.
worker-result-queued = Booked. Your Polo will give you the pickup time soon: look at “My rides”.
worker-result-refused = No vehicle can take this ride.
worker-alternatives = Instead you can:
worker-alt-line = take the work line { $line } at { $time }, { $distance } m from your meeting point
worker-alt-time = book at { $time }
worker-meeting-point = Meeting point
worker-rides-title = My rides
worker-rides-count = { $count ->
    [one] 1 ride booked
   *[other] { $count } rides booked
}
worker-no-rides = No rides booked.
worker-pickup-at = Pickup at { $time }
worker-expected-at = Expected now at { $time }
worker-pickup-pending = Pickup time not set yet
worker-to-place = To { $place }
worker-status-requested = Booked
worker-status-planned = Planned
worker-status-confirmed = Confirmed
worker-status-cancelled = Cancelled
worker-status-refused = Refused
worker-status-completed = Done
worker-status-no_show = Missed
worker-cancel = Cancel this ride
worker-cancelled = The ride is cancelled.
worker-ride-title = Your ride
worker-back = Back
worker-home = Home
worker-lines-title = Work lines
worker-lines-help = A work line runs on working days of the season, at fixed times. Subscribe once.
worker-line-board = Get on at { $stop } at { $time }
worker-line-to = to { $stop }
worker-subscribe-season = The whole season (until { $date })
worker-subscribe-days = Only from … to …
worker-from-day = From
worker-to-day = To
worker-subscribe = Subscribe
worker-my-subscriptions = My subscriptions
worker-no-subscriptions = No subscriptions.
worker-subscribed = You are subscribed.
worker-end-subscription = End this subscription
worker-subscription-ended = Subscription ended.
worker-subscription-until = until { $date }
worker-report-title = Report a problem
worker-report-help = Tell your Polo in confidence. Only the Polo's coordinator reads it.
worker-report-money = Someone asked me for money
worker-report-documents = Someone asked for my documents
worker-report-threat = I was threatened
worker-report-other = Something else
worker-report-details = What happened (you may leave it empty)
worker-report-anonymous = Send without my name
worker-report-send = Send
worker-report-sent = Sent. Your Polo has received it.
worker-error = Please check: { $field }
worker-error-duplicate = You already have a ride at that time.
worker-error-full = This line is full on some of these days.
worker-error-already = You are already subscribed to this line.
worker-not-found = Not found.
worker-card-title = Passaggio card
worker-card-for = For { $name }
worker-card-scan = Scan with the phone's camera to sign in
worker-card-code = Or type this code
worker-card-pin = You will also be asked your PIN.
worker-card-keep = Keep this card for yourself. If it is lost or taken, your Polo gives you a new one and this one stops working.
worker-today = Today
worker-tomorrow = Tomorrow

## Coordinator console
console-title = Passaggio console
console-skip = Skip to content
console-nav = Console sections
console-nav-day = The day
console-nav-book = Book
console-nav-planning = Planning
console-nav-fleet = Lines and fleet
console-logout = Sign out
console-login-title = Staff sign-in
console-login-username = Username
console-login-password = Password
console-login-submit = Sign in
console-login-wrong = Wrong username or password.
console-login-limited = Too many attempts: try again in a few minutes.
console-error = Something went wrong
console-error-not-found = Not found
console-error-forbidden = Not allowed
console-back-day = Back to the day
console-day-title = The day
console-date = Day
console-filter-status = Status
console-filter-all = All
console-filter-name = Name
console-filter-apply = Filter
console-map-title = Map of the day
console-map-stops = stops
console-map-updated = Updated at
console-map-failed = Map not updated: trying again shortly.
console-map-runs = { $count ->
    [one] 1 run
   *[other] { $count } runs
}
console-map-break = Driver's break
console-on-break-title = Drivers on their break now
console-on-break-reported = reported by the driver
console-on-break-planned = as planned
console-on-break-until = until { $until }
console-late-title = Late runs
console-late-shift = ends after the driver's shift
console-late-promises = { $count ->
    [one] 1 promised time at risk
   *[other] { $count } promised times at risk
}
console-requests-title = The Polo's requests
console-group-unserved = Unserved
console-group-planned = Planned
console-group-in_progress = In progress
console-group-done = Done
console-group-no_show = No-show
console-group-cancelled = Cancelled
console-col-time = Time
console-col-breaks = Driver's breaks
console-col-person = Person
console-col-trip = Trip
console-col-status = Status
console-at-risk = at risk
console-no-requests = No requests for this day.
console-book-title = Book for a person
console-search-label = Name or case code
console-search = Search
console-search-none = No person of your Polo matches.
console-case-open = Open case
console-case-suspended = Suspended case
console-case-closed = Closed case
console-case-worker = Case worker
console-wheelchair = wheelchair user
console-appointment-title = Transport for an appointment
console-appointment-place = Where
console-appointment-what = What for
console-appointment-starts = Starts
console-appointment-ends = Ends
console-appointment-from = Meeting point
console-appointment-return = The return ride too
console-appointment-book = Book there and back
console-mobility-title = Mobility
console-rides-taken = Rides taken
console-rides-missed = Rides missed
console-cost = Cost
console-budget-title = Budget di Integrazione
console-budget-area = Area
console-budget-spent = Spent
console-budget-left = Left
console-budget-chart = Spent and left per area of the Budget di Integrazione
console-area-housing = Housing
console-area-social_health = Social and health
console-area-integration_orientation = Orientation and integration
console-area-active_labour = Work
console-rides-title = Rides and requests
console-no-rides = No rides.
console-access-log = Who read the case
console-log-when = When
console-log-who = Who
console-log-why = Why
console-purpose-work_shift = Work shift
console-purpose-appointment = Appointment
console-purpose-return = Return
console-purpose-training = Training
console-purpose-other = Other
console-status-requested = Requested
console-status-planned = Planned
console-status-confirmed = Confirmed
console-status-cancelled = Cancelled
console-status-refused = Refused
console-status-completed = Done
console-status-no_show = No-show
console-booked = Booked. Promised times come with the planning (today: at once).
console-moved = Moved: new pickup at { $time }.
console-not-moved = Not moved: the chosen run cannot take it.
console-cancelled = Cancelled.
console-corrected = No-show corrected: the ride is recorded as taken and the ledger follows with new entries.
console-times-title = Promised times
console-promised-pickup = Promised pickup at
console-not-yet-promised = No time promised yet
console-not-before = not before
console-arrive-by = arrive by
console-print = Print
console-copy = Copy
console-history = Request history
console-move-title = Move to another run
console-move-run = Run
console-move = Move
console-line = line
console-cancel-title = Cancel
console-reason = Reason
console-cancel = Cancel the request
console-noshow-title = Correct a mistaken no-show
console-noshow-help = If the person did travel: the correction is kept with who made it and why, and the ledger is corrected by new entries.
console-noshow-correct = Correct the no-show
console-planning-title = Planning
console-planning-limit = Time limit (seconds)
console-planning-run = Plan the day
console-planning-job = Latest planning
console-planning-running = Running
console-planning-failed = Planning failed.
console-planning-done = Planning done
console-planning-runs = { $count ->
    [one] 1 run
   *[other] { $count } runs
}
console-planning-vehicles = { $count ->
    [one] 1 vehicle used
   *[other] { $count } vehicles used
}
console-planning-estimated = estimated times
console-planning-roads = road times
console-planning-unserved = Unserved
console-planning-result = The runs
console-planning-jobs = Plans of the day
console-request = Request
console-vehicle = Vehicle
console-fleet-title = Lines and fleet
console-lines = Work lines
console-season = Season
console-seats = Seats
console-vehicles = Vehicles
console-wheelchair-places = Wheelchair places
console-operator = Operator
console-depot = Depot
console-drivers = Drivers
console-line-subscribers = { $count ->
    [one] 1 subscriber
   *[other] { $count } subscribers
}
console-saved = Saved.
console-heat-title = Heat-ordinance timetable
console-heat-help = On the days marked (regional ordinances stopping field work in the hottest hours) the line runs these times, and its subscribers' rides follow. Mark a day before its run is planned.
console-stop = Stop
console-stop-time = Time
console-heat-time = Time under the ordinance
console-heat-save = Save the alternative times
console-heat-days = Ordinance days
console-heat-none = No day marked.
console-heat-mark = Mark the day
console-heat-unmark = Remove
console-line-polo-subscribers = Your Polo's subscribers
console-line-end-title = End the line
console-line-end-help = After its last day the line no longer runs: subscriptions end, later rides are cancelled and riders placed on its runs wait again.
console-line-last-day = Last day
console-line-end = End the line
console-subscribe-title = Subscribe a person of the Polo
console-subscribe-board = Boards at
console-subscribe-alight = Gets off at
console-subscribe-from = From
console-subscribe-to = To
console-subscribe = Subscribe


## Console: workers' reports
console-nav-reports = Reports
console-reports-title = Workers' reports
console-reports-help = Confidential: only the Polo's coordinator reads them. Those who asked to stay anonymous are not named.
console-reports-empty = No reports.
console-report-received = Received
console-report-kind = What it is about
console-report-person = Person
console-report-details = What happened
console-report-status = Status
console-report-anonymous = anonymous
console-report-status-new = new
console-report-status-in_progress = in progress
console-report-status-closed = closed
console-report-save = Save
console-line-new = New work line
console-line-create = Create the line
console-line-name = Name
console-season-start = Season start
console-season-end = Season end
console-operating-days = Operating days
console-weekday-1 = Monday
console-weekday-2 = Tuesday
console-weekday-3 = Wednesday
console-weekday-4 = Thursday
console-weekday-5 = Friday
console-weekday-6 = Saturday
console-weekday-7 = Sunday
console-line-stops = Stops
console-line-stops-help = At least two stops in order, each with its time (HH:MM, increasing: a line does not cross midnight). Empty rows are ignored.
console-line-no-vehicle = No vehicle (give the seats)
console-line-edit-title = Edit the line
console-line-edit-help = Seats and wheelchair places cannot go below those already subscribed; the season and days keep the days whose run is already made; once people are subscribed only the stop times may change.
console-line-no-break = The timetable leaves the driver no break: some stretch is longer than 4 h 30 without a wait of 45 minutes between two stops (EU rule). The runs of this line will have their break late or not at all; add a wait or split the line between two drivers.
console-line-save = Save the line
console-fleet-admin-only = Vehicles and drivers are added by the programme administrator.
