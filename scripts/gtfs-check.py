"""Validates a GTFS zip with gtfs-guru and reads it back with partridge; prints JSON.

    python scripts/gtfs-check.py FEED.zip YYYY-MM-DD

Output: {"errors": [{code, message, file, row}...], "warnings": [...], "read": {...}} where
"read" is what partridge read (routes, trips, stops, fixed-stop stop_times, calendar), for the
tests to compare with what the service exported. Used by tests/reports.rs.
"""
import json
import sys
import tempfile
import zipfile

import gtfs_guru
import partridge as ptg


def notices(items):
    out = []
    for n in items:
        out.append({"code": n.code, "message": n.message, "file": n.file, "row": n.row})
    return out


def seconds(t):
    """A GTFS time (HH:MM:SS, or seconds when the reader parsed it) in seconds."""
    if isinstance(t, str):
        h, m, s = (int(x) for x in t.split(":"))
        return h * 3600 + m * 60 + s
    return int(t)


def main():
    path, date = sys.argv[1], sys.argv[2]
    result = gtfs_guru.validate(path, country_code="IT", date=date)
    with tempfile.TemporaryDirectory() as d:
        zipfile.ZipFile(path).extractall(d)
        # Every service, not only the busiest day's: the view keeps all trips.
        feed = ptg.load_raw_feed(d)
        st = feed.stop_times
        fixed = st[st["stop_id"].notna() & (st["stop_id"] != "")]
        read = {
            "routes": sorted(feed.routes["route_id"].tolist()),
            "trips": sorted(feed.trips["trip_id"].tolist()),
            "stops": sorted(
                [r.stop_id, r.stop_name, round(float(r.stop_lat), 6), round(float(r.stop_lon), 6)]
                for r in feed.stops.itertuples()
            ),
            "stop_times": sorted(
                [r.trip_id, int(r.stop_sequence), r.stop_id, seconds(r.arrival_time), seconds(r.departure_time)]
                for r in fixed.itertuples()
            ),
            "calendar": sorted(
                [r.service_id, str(r.start_date), str(r.end_date)] for r in feed.calendar.itertuples()
            ),
        }
    print(json.dumps({
        "errors": notices(result.errors()),
        "warnings": notices(result.warnings()),
        "read": read,
    }, default=str))


if __name__ == "__main__":
    main()
