#!/usr/bin/env python3
"""Creates benchmark users fast, for Centrala and (optionally) for Kamailio.

Centrala: the first user is added with `centrala user add` (which creates the database, runs
the migrations and remembers the domain). Every other user is written straight into
DATA/centrala.db with the same columns `user add` writes (gateway/src/store.rs): an employee
of the first company with a SIP password, ha1_md5 = hex(MD5("ext:realm:password")) and
ha1_sha256 likewise with SHA-256. Bench users have no web log-in. (Going through the command
line for each of 50,000 users would take minutes; this takes seconds.)

Kamailio (--kamailio-db FILE): a db_sqlite database with Debian's schema for `subscriber`
(ha1 = MD5 HA1, ha1b = MD5 of "user@domain:realm:password") and `address` (permissions
module: trusted peers, group 1).

Passwords follow --password (default "bench{ext}"), the rule centrala-loadgen and the sipp
CSV files use.
"""

import argparse
import hashlib
import os
import sqlite3
import subprocess
import sys


def ha1(alg, ext, realm, password):
    return hashlib.new(alg, f"{ext}:{realm}:{password}".encode()).hexdigest()


def centrala_users(args, exts):
    db = os.path.join(args.data, "centrala.db")
    first = exts[0]
    pw = args.password.replace("{ext}", str(first))
    if os.path.exists(db):
        # Brings an older database up to date (the gateway's migrations) before looking.
        subprocess.run([args.centrala, "user", "list", "--data", args.data],
                       check=True, stdout=subprocess.DEVNULL)
    con = sqlite3.connect(db) if os.path.exists(db) else None
    have_first = False
    if con is not None:
        try:
            have_first = con.execute("SELECT 1 FROM employees WHERE company_id = 1 AND ext = ?", (str(first),)).fetchone() is not None
        except sqlite3.OperationalError:
            have_first = False
        con.close()
    if not have_first:
        subprocess.run(
            [args.centrala, "user", "add", "--data", args.data, "--domain", args.domain,
             "--ext", str(first), "--name", f"Bench {first}", "--password", pw],
            check=True, stdout=subprocess.DEVNULL,
        )
    con = sqlite3.connect(db, timeout=30)
    (domain,) = con.execute("SELECT value FROM settings WHERE key = 'domain'").fetchone()
    if domain != args.domain:
        sys.exit(f"{db} belongs to domain {domain!r}, not {args.domain!r}")
    rows = []
    for ext in exts:
        pw = args.password.replace("{ext}", str(ext))
        rows.append((str(ext), f"Bench {ext}", args.domain,
                     ha1("md5", ext, args.domain, pw), ha1("sha256", ext, args.domain, pw)))
    with con:
        con.executemany(
            "INSERT OR IGNORE INTO employees (company_id, ext, name, sip_realm, ha1_md5, ha1_sha256, created_at) "
            "VALUES (1, ?, ?, ?, ?, ?, CAST(strftime('%s', 'now') AS INTEGER))", rows)
    (n,) = con.execute("SELECT COUNT(*) FROM employees").fetchone()
    con.close()
    print(f"centrala: {len(exts)} users {exts[0]}..{exts[-1]} in {db} ({n} users in all)")


def kamailio_users(args, exts):
    db = args.kamailio_db
    fresh = not os.path.exists(db)
    con = sqlite3.connect(db, timeout=30)
    if fresh:
        for f in ("standard-create.sql", "auth_db-create.sql", "permissions-create.sql"):
            with open(os.path.join(args.kamailio_schema, f)) as fh:
                con.executescript(fh.read())
    rows = []
    for ext in exts:
        pw = args.password.replace("{ext}", str(ext))
        rows.append((str(ext), args.domain, "", ha1("md5", ext, args.domain, pw),
                     ha1("md5", f"{ext}@{args.domain}", args.domain, pw)))
    with con:
        con.executemany(
            "INSERT OR IGNORE INTO subscriber (username, domain, password, ha1, ha1b) VALUES (?, ?, ?, ?, ?)",
            rows)
        for peer in args.trusted_peer:
            if con.execute("SELECT 1 FROM address WHERE ip_addr = ?", (peer,)).fetchone() is None:
                con.execute("INSERT INTO address (grp, ip_addr, mask, port, tag) VALUES (1, ?, 32, 0, 'bench')", (peer,))
    (n,) = con.execute("SELECT COUNT(*) FROM subscriber").fetchone()
    con.close()
    print(f"kamailio: {len(exts)} users {exts[0]}..{exts[-1]} in {db} ({n} in all)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--centrala", default="target/release/centrala", help="the centrala binary")
    p.add_argument("--data", help="Centrala data folder (skip Centrala when absent)")
    p.add_argument("--domain", default="bench.local")
    p.add_argument("--first", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--password", default="bench{ext}")
    p.add_argument("--kamailio-db", help="Kamailio db_sqlite file to fill too")
    p.add_argument("--kamailio-schema", default="/usr/share/kamailio/db_sqlite")
    p.add_argument("--trusted-peer", action="append", default=[], help="address for Kamailio's address table")
    args = p.parse_args()
    exts = list(range(args.first, args.first + args.count))
    if any(not (2 <= len(str(e)) <= 8) for e in (exts[0], exts[-1])):
        sys.exit("extensions must have 2 to 8 digits")
    for ext in (exts[0],):
        if len(args.password.replace("{ext}", str(ext))) < 6:
            sys.exit("passwords must have at least 6 characters")
    if args.data:
        centrala_users(args, exts)
    if args.kamailio_db:
        kamailio_users(args, exts)


if __name__ == "__main__":
    main()
