// The PAC helper functions, installed as globals before the PAC script runs. Written for
// proxyscope to the semantics browsers give these helpers (including their type coercions and
// their quirks), so that a script answers here what it answers in Chromium and Firefox.
//
// `native` holds the few functions that need the outside world: name lookups, the local address,
// the clock, and the alert log. It is removed from the global object once the helpers hold it.
(function (native) {
    var g = globalThis;
    var DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    var MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    var QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

    // A dotted quad as an unsigned 32-bit number, or -1 when it is not one (each part at most
    // three digits and at most 255, as browsers accept).
    function quad(text) {
        var m = QUAD.exec(text);
        if (m === null) return -1;
        var n = 0;
        for (var i = 1; i <= 4; i++) {
            var part = Number(m[i]);
            if (part > 255) return -1;
            n = n * 256 + part;
        }
        return n;
    }

    // Now, as two Date values read with the getUTC* methods: `utc` is UTC, `local` is the wall
    // clock of the configured time zone. Using UTC arithmetic for both keeps the helpers
    // independent of the process's time zone and lets tests fix the zone.
    function clock() {
        var ms = native.nowMs();
        var offset = native.utcOffsetMinutes(ms);
        // The native side answers `undefined` (not `null`) when the system zone is meant.
        if (offset == null) offset = -new Date(ms).getTimezoneOffset();
        return { utc: new Date(ms), local: new Date(ms + offset * 60000) };
    }

    g.isPlainHostName = function isPlainHostName(host) {
        if (typeof host !== "string") throw new TypeError("isPlainHostName: host must be a string");
        // An IPv6 literal has no dot but is not a plain host name (Chromium).
        return host.indexOf(".") === -1 && !native.isIpLiteral(host);
    };

    g.dnsDomainIs = function dnsDomainIs(host, domain) {
        var cut = host.length - domain.length;
        return cut >= 0 && host.substring(cut) == domain;
    };

    g.localHostOrDomainIs = function localHostOrDomainIs(host, hostdom) {
        if (host == hostdom) return true;
        return hostdom.lastIndexOf(host + ".", 0) === 0;
    };

    g.dnsResolve = function dnsResolve(host) {
        var ip = native.dnsResolve(String(host));
        return ip === undefined ? null : ip;
    };

    g.isResolvable = function isResolvable(host) {
        return dnsResolve(host) != null;
    };

    g.myIpAddress = function myIpAddress() {
        return native.myIpAddress();
    };

    g.isValidIpAddress = function isValidIpAddress(text) {
        return quad(text) >= 0;
    };

    g.convert_addr = function convert_addr(text) {
        var parts = String(text).split(".");
        return ((parts[0] & 255) << 24) | ((parts[1] & 255) << 16) | ((parts[2] & 255) << 8) | (parts[3] & 255);
    };

    g.isInNet = function isInNet(host, pattern, mask) {
        var net = quad(pattern), bits = quad(mask);
        if (net < 0 || bits < 0) return false;
        var ip = quad(host);
        if (ip < 0) {
            var resolved = dnsResolve(host);
            if (resolved == null) return false;
            ip = quad(resolved);
            if (ip < 0) return false;
        }
        return ((ip & bits) >>> 0) === ((net & bits) >>> 0);
    };

    g.dnsDomainLevels = function dnsDomainLevels(host) {
        return host.split(".").length - 1;
    };

    // A shell expression becomes an anchored regular expression: `.` is literal, `*` is any run
    // and `?` any one character; every other character keeps its regular-expression meaning, as
    // in browsers (so `[ab]` is a class and an unbalanced `(` throws).
    // Compiled expressions are kept (a flagless RegExp keeps no state between tests): a PAC
    // file tests the same few patterns on every call. Bounded: cleared when full.
    var compiled = new Map();
    g.shExpMatch = function shExpMatch(text, pattern) {
        var re = typeof pattern === "string" ? compiled.get(pattern) : undefined;
        if (re === undefined) {
            var source = pattern.replace(/[.*?]/g, function (c) {
                return c === "." ? "\\." : c === "*" ? ".*" : ".";
            });
            re = new RegExp("^" + source + "$");
            if (typeof pattern === "string" && pattern.length <= 256) {
                if (compiled.size >= 256) compiled.clear();
                compiled.set(pattern, re);
            }
        }
        return re.test(text);
    };

    // The trailing "GMT" argument, when present, selects UTC; the helpers then read only the
    // arguments before it.
    function zone(args) {
        var n = args.length;
        var gmt = n > 0 && args[n - 1] == "GMT";
        return { n: gmt ? n - 1 : n, gmt: gmt };
    }

    g.weekdayRange = function weekdayRange() {
        if (arguments.length < 1) return false;
        var z = zone(arguments);
        var now = clock();
        var today = (z.gmt ? now.utc : now.local).getUTCDay();
        var first = DAYS.indexOf(arguments[0]);
        var last = z.n == 2 ? DAYS.indexOf(arguments[1]) : first;
        if (first < 0 || last < 0) return false;
        if (first <= last) return first <= today && today <= last;
        return today >= first || today <= last;
    };

    g.dateRange = function dateRange() {
        if (arguments.length < 1) return false;
        var z = zone(arguments);
        var n = z.n;
        var now = clock();
        var at = z.gmt ? now.utc : now.local;
        if (n == 1) {
            var only = parseInt(arguments[0]);
            if (isNaN(only)) return at.getUTCMonth() == MONTHS.indexOf(arguments[0]);
            if (only < 32) return at.getUTCDate() == only;
            return at.getUTCFullYear() == only;
        }
        // The range starts as the whole current (local) year; the first half of the arguments
        // move its start, the second half its end, each a day, a month name or a year.
        var year = now.local.getUTCFullYear();
        var from = new Date(Date.UTC(year, 0, 1, 0, 0, 0));
        var to = new Date(Date.UTC(year, 11, 31, 23, 59, 59));
        var dayOnly = false;
        var half = n >> 1;
        for (var i = 0; i < n; i++) {
            var target = i < half ? from : to;
            var v = parseInt(arguments[i]);
            if (isNaN(v)) {
                target.setUTCMonth(MONTHS.indexOf(arguments[i]));
            } else if (v < 32) {
                if (i < half) dayOnly = n <= 2;
                target.setUTCDate(v);
            } else {
                target.setUTCFullYear(v);
            }
        }
        if (dayOnly) {
            // dateRange(1, 15): days of the current month.
            from.setUTCMonth(now.local.getUTCMonth());
            to.setUTCMonth(now.local.getUTCMonth());
        }
        if (from <= to) return from <= at && at <= to;
        return at <= to || at >= from;
    };

    g.timeRange = function timeRange() {
        if (arguments.length < 1) return false;
        var z = zone(arguments);
        var n = z.n;
        var now = clock();
        var at = z.gmt ? now.utc : now.local;
        var hour = at.getUTCHours();
        if (n == 1) return hour == arguments[0];
        if (n == 2) return arguments[0] <= hour && hour <= arguments[1];
        // hh:mm[:ss] to hh:mm[:ss] today; the bounds start as the current local time, so the
        // unspecified fields (seconds of the start in the 4-argument form) keep its values.
        var from = new Date(now.local.getTime());
        var to = new Date(now.local.getTime());
        if (n == 6) {
            from.setUTCSeconds(arguments[2]);
            to.setUTCSeconds(arguments[5]);
        } else if (n != 4) {
            throw "timeRange: bad number of arguments";
        }
        var mid = n >> 1;
        from.setUTCHours(arguments[0]);
        from.setUTCMinutes(arguments[1]);
        to.setUTCHours(arguments[mid]);
        to.setUTCMinutes(arguments[mid + 1]);
        if (mid == 2) to.setUTCSeconds(59);
        if (from <= to) return from <= at && at <= to;
        return at <= to || at >= from;
    };

    g.alert = function alert(message) {
        native.alert(String(message));
    };
})(globalThis.__proxyscope_pac);
delete globalThis.__proxyscope_pac;
