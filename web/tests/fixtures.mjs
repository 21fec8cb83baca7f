// Runs written straight into the database for the browser tests (the planner is tested
// elsewhere): the same shape as tests/driver.rs `make_run`.
import { sql } from "./harness.mjs";

export const BORGO = "Borgo Mezzanone - ex pista";
export const ASL = "ASL Foggia - Poliambulatorio";
export const JOB_CENTRE = "Centro per l'impiego di Foggia";
export const PALMORI = "Palmori";

const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;

/**
 * A run today of `driver` with `trips` ([{ known_as, from, to, passengers }]): stop 0 the
 * start, then the pickups in order, the drop-offs in order, the end; 10 minutes apart from
 * `start` (Rome time, default 07:00), each pickup window opening 30 minutes before it. Returns { runId, vehicleId, requests }.
 */
export function makeRun(url, driver, trips, { seats = 4, wheelchairPlaces = 1, start = "07:00" } = {}) {
  const day = sql(url, "select (now() at time zone 'Europe/Rome')::date")[0][0];
  const [[vehicleId]] = sql(
    url,
    `insert into vehicle (region_code, label, seats, wheelchair_places, operator, depot_name, depot,
        cost_per_km_cents, cost_per_hour_cents)
     values ('puglia', 'FG-TEST-' || left(gen_random_uuid()::text, 4), ${seats}, ${wheelchairPlaces}, 'Test',
             'Deposito Foggia', st_setsrid(st_makepoint(15.56, 41.47), 4326)::geography, 45, 2200)
     returning vehicle_id`,
  );
  const [[runId]] = sql(
    url,
    `insert into run (region_code, service_date, vehicle_id, driver_id)
     select 'puglia', ${lit(day)}, ${lit(vehicleId)}, d.driver_id from driver d join staff s using (staff_id)
     where s.username = ${lit(driver)} returning run_id`,
  );
  const requests = trips.map((t) => {
    const place = (name) => `(select pl.place_id, mp.meeting_point_id, coalesce(mp.location, pl.location) as loc
        from place pl left join lateral (select * from meeting_point m where m.place_id = pl.place_id
                                         order by m.name limit 1) mp on true where pl.name = ${lit(name)})`;
    const [[id]] = sql(
      url,
      `with c as (select c.case_id, c.person_id, c.case_worker_id from care_case c
                  join person p on p.region_code = c.region_code and p.person_id = c.person_id
                  where p.known_as = ${lit(t.known_as)} limit 1),
            pu as ${place(t.from)}, dr as ${place(t.to)},
            r as (insert into ride_request (region_code, case_id, person_id, purpose, service_date,
                    pickup_place_id, pickup_meeting_point_id, pickup_location,
                    dropoff_place_id, dropoff_meeting_point_id, dropoff_location,
                    earliest_pickup, passengers, status, booked_by, booked_channel, run_id)
                  select 'puglia', c.case_id, c.person_id, 'appointment', ${lit(day)},
                         pu.place_id, pu.meeting_point_id, pu.loc, dr.place_id, dr.meeting_point_id, dr.loc,
                         ((${lit(day)}::date + time ${lit(start)}) at time zone 'Europe/Rome') - interval '30 minutes', ${t.passengers ?? 1},
                         'confirmed', c.case_worker_id, 'case_worker', ${lit(runId)}
                  from c, pu, dr returning ride_request_id, region_code, booked_by),
            e as (insert into ride_request_event (region_code, ride_request_id, status, reason, changed_by)
                  select region_code, ride_request_id, 'confirmed', 'test fixture', booked_by from r)
       select ride_request_id from r`,
    );
    return id;
  });
  const n = requests.length;
  const at = (seq) =>
    `((${lit(day)}::date + time ${lit(start)}) at time zone 'Europe/Rome') + make_interval(mins => ${seq * 10})`;
  const after = (seq) =>
    `((${lit(day)}::date + time ${lit(start)}) at time zone 'Europe/Rome') + make_interval(mins => ${seq * 10 + 2})`;
  const end = (seq, kind) =>
    sql(
      url,
      `insert into run_stop (region_code, run_id, seq, kind, location, planned_arrival, planned_departure)
       values ('puglia', ${lit(runId)}, ${seq}, '${kind}', st_setsrid(st_makepoint(15.56, 41.47), 4326)::geography,
               ${at(seq)}, ${after(seq)})`,
    );
  const rider = (seq, kind, req) => {
    const side = kind === "pickup" ? "pickup" : "dropoff";
    sql(
      url,
      `insert into run_stop (region_code, run_id, seq, kind, ride_request_id, place_id, meeting_point_id,
           location, planned_arrival, planned_departure)
       select 'puglia', ${lit(runId)}, ${seq}, '${kind}', ride_request_id, ${side}_place_id,
              ${side}_meeting_point_id, ${side}_location, ${at(seq)}, ${after(seq)}
       from ride_request where ride_request_id = ${lit(req)}`,
    );
  };
  end(0, "start");
  requests.forEach((r, i) => rider(i + 1, "pickup", r));
  requests.forEach((r, i) => rider(n + i + 1, "dropoff", r));
  end(2 * n + 1, "end");
  return { runId, vehicleId, requests, day };
}
