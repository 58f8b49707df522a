// The PAC helper functions, installed as globals before the PAC script runs. Written for
// proxyscope to the semantics browsers give these helpers (including their type coercions and
// their quirks), so that a script answers here what it answers in Chromium and Firefox.
//
// `native` holds the few functions that need the outside world: name lookups, the local address,
// the clock, and the alert log. It is removed from the global object once the helpers hold it.
(function (native) {
    var g = globalThis;
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

    g.isPlainHostName = function isPlainHostName(host) {
        // Chromium's message, which scripts written for it may compare.
        if (typeof host !== "string") throw new TypeError("Requires 1 string parameter");
        // An IP literal without a dot (`::1`, `0x7f000001`) is not a plain host name (Chromium).
        if (host.indexOf(".") !== -1) return false;
        return host.length > LITERAL_MAX || !native.isIpLiteral(host);
    };

    g.dnsDomainIs = function dnsDomainIs(host, domain) {
        var cut = host.length - domain.length;
        return cut >= 0 && host.substring(cut) == domain;
    };

    g.localHostOrDomainIs = function localHostOrDomainIs(host, hostdom) {
        if (host == hostdom) return true;
        return hostdom.lastIndexOf(host + ".", 0) === 0;
    };

    // Names must be strings: anything else is not looked up (`null`, as in Chromium).
    g.dnsResolve = function dnsResolve(host) {
        if (typeof host !== "string") return null;
        var ip = native.dnsResolve(host);
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

    // The time helpers follow, step for step, the Netscape/Mozilla code that Firefox and
    // Chromium share, so that they agree with browsers even where that code is odd (a month
    // set on the 31st rolls into the next one; "GMT" moves a date's UTC fields into its local
    // ones one by one). They read "now" through `new Date()`, as browsers do: when the script
    // has replaced the global `Date` (test scripts do, to fix the day) that is the script's
    // `Date`; otherwise a Date-like type over the configured clock and time zone, which keeps
    // the helpers independent of the process's time zone.
    var NativeDate = Date;
    var FIELDS = ["FullYear", "Month", "Date", "Day", "Hours", "Minutes", "Seconds"];
    var WEEKDAYS = { SUN: 0, MON: 1, TUE: 2, WED: 3, THU: 4, FRI: 5, SAT: 6 };
    var MONTHS = {
        JAN: 0, FEB: 1, MAR: 2, APR: 3, MAY: 4, JUN: 5,
        JUL: 6, AUG: 7, SEP: 8, OCT: 9, NOV: 10, DEC: 11
    };

    // A day or month name's number, or -1 (names are upper case, as in browsers).
    function numberOf(table, name) {
        return Object.prototype.hasOwnProperty.call(table, name) ? table[name] : -1;
    }

    // The configured clock's "now" and zone offset (ms), set by dateType() for the helper call
    // under way: helpers run one at a time, and each Clock keeps the offset it was made with.
    var clockNow = 0;
    var clockOffset = 0;

    function dateType() {
        if (g.Date !== NativeDate) return g.Date;
        clockNow = native.nowMs();
        var offset = native.utcOffsetMinutes(clockNow);
        // The native side answers `undefined` (not `null`) when the system zone is meant.
        if (offset == null) offset = -new NativeDate(clockNow).getTimezoneOffset();
        clockOffset = offset * 60000;
        return Clock;
    }

    // The Date methods the helpers use, for the configured clock: `new Clock()` is now,
    // `new Clock(y, mo, d, h, mi, s)` a local time. `wall` is a native Date whose UTC fields
    // are the local wall-clock fields.
    function Clock(y, mo, d, h, mi, s) {
        this.offset = clockOffset;
        this.wall = arguments.length === 0
            ? new NativeDate(clockNow + clockOffset)
            : new NativeDate(NativeDate.UTC(y, mo, d, h, mi, s));
    }
    Clock.prototype.valueOf = Clock.prototype.getTime = function () {
        return this.wall.getTime() - this.offset;
    };
    FIELDS.forEach(function (f) {
        Clock.prototype["get" + f] = function () {
            return this.wall["getUTC" + f]();
        };
        Clock.prototype["getUTC" + f] = function () {
            return new NativeDate(this.valueOf())["getUTC" + f]();
        };
        // A Date has no setter for the day of the week.
        if (f === "Day") return;
        Clock.prototype["set" + f] = function (v) {
            return this.wall["setUTC" + f](v);
        };
    });

    // "GMT": the date's UTC fields moved into its local ones in place, in browsers' order.
    function utcIntoLocal(date) {
        date.setFullYear(date.getUTCFullYear());
        date.setMonth(date.getUTCMonth());
        date.setDate(date.getUTCDate());
        date.setHours(date.getUTCHours());
        date.setMinutes(date.getUTCMinutes());
        date.setSeconds(date.getUTCSeconds());
        return date;
    }

    // What every time helper starts from: the Date type, now, and how many arguments come
    // before a trailing "GMT".
    function timeArgs(args) {
        var D = dateType();
        var gmt = args[args.length - 1] == "GMT";
        return { D: D, date: new D(), argc: gmt ? args.length - 1 : args.length, gmt: gmt };
    }

    function within(from, to, date) {
        return from <= to ? from <= date && date <= to : to >= date || date >= from;
    }

    g.weekdayRange = function weekdayRange() {
        if (arguments.length < 1) return false;
        var t = timeArgs(arguments);
        var today = t.gmt ? t.date.getUTCDay() : t.date.getDay();
        var first = numberOf(WEEKDAYS, arguments[0]);
        var last = t.argc == 2 ? numberOf(WEEKDAYS, arguments[1]) : first;
        if (first == -1 || last == -1) return false;
        return within(first, last, today);
    };

    g.dateRange = function dateRange() {
        if (arguments.length < 1) return false;
        var t = timeArgs(arguments);
        var D = t.D, date = t.date, argc = t.argc, gmt = t.gmt;
        if (argc == 1) {
            var only = parseInt(arguments[0]);
            if (isNaN(only)) {
                var month = gmt ? date.getUTCMonth() : date.getMonth();
                return month == numberOf(MONTHS, arguments[0]);
            }
            if (only < 32) return (gmt ? date.getUTCDate() : date.getDate()) == only;
            return (gmt ? date.getUTCFullYear() : date.getFullYear()) == only;
        }
        // The range starts as the whole current (local) year; the first half of the arguments
        // move its start, the second half its end, each a day, a month name or a year.
        var year = date.getFullYear();
        var from = new D(year, 0, 1, 0, 0, 0);
        var to = new D(year, 11, 31, 23, 59, 59);
        var dayOnly = false;
        var half = argc >> 1;
        for (var i = 0; i < argc; i++) {
            var bound = i < half ? from : to;
            var v = parseInt(arguments[i]);
            if (isNaN(v)) {
                bound.setMonth(numberOf(MONTHS, arguments[i]));
            } else if (v < 32) {
                if (i < half) dayOnly = argc <= 2;
                bound.setDate(v);
            } else {
                bound.setFullYear(v);
            }
        }
        if (dayOnly) {
            // dateRange(1, 15): days of the current month.
            from.setMonth(date.getMonth());
            to.setMonth(date.getMonth());
        }
        return within(from, to, gmt ? utcIntoLocal(date) : date);
    };

    g.timeRange = function timeRange() {
        if (arguments.length < 1) return false;
        var t = timeArgs(arguments);
        var D = t.D, date = t.date, argc = t.argc, gmt = t.gmt;
        var hour = gmt ? date.getUTCHours() : date.getHours();
        if (argc == 1) return hour == arguments[0];
        if (argc == 2) return arguments[0] <= hour && hour <= arguments[1];
        // hh:mm[:ss] to hh:mm[:ss] today; the bounds start as now, so the fields not given
        // (the seconds of the start in the four-argument form) keep now's values.
        var from = new D();
        var to = new D();
        if (argc == 6) {
            from.setSeconds(arguments[2]);
            to.setSeconds(arguments[5]);
        } else if (argc != 4) {
            throw "timeRange: bad number of arguments";
        }
        var mid = argc >> 1;
        from.setHours(arguments[0]);
        from.setMinutes(arguments[1]);
        to.setHours(arguments[mid]);
        to.setMinutes(arguments[mid + 1]);
        if (mid == 2) to.setSeconds(59);
        return within(from, to, gmt ? utcIntoLocal(date) : date);
    };

    // Microsoft's IPv6 extensions, with Chromium's answers to odd arguments: a non-string is
    // `null` (`undefined` for dnsResolveEx), a non-ASCII address is `false`. Addresses and
    // prefixes longer than LITERAL_MAX characters are never valid.
    // Looks for one non-ASCII character: a `^[...]*$` pattern would backtrack over the whole
    // string and run a long one out of memory.
    var NON_ASCII = /[^\x00-\x7f]/;
    var LITERAL_MAX = 255;

    g.dnsResolveEx = function dnsResolveEx(host) {
        if (typeof host !== "string") return undefined;
        return native.dnsResolveEx(host);
    };

    g.isResolvableEx = function isResolvableEx(host) {
        return dnsResolveEx(host) != "";
    };

    g.myIpAddressEx = function myIpAddressEx() {
        return native.myIpAddressEx();
    };

    g.isInNetEx = function isInNetEx(address, prefix) {
        if (typeof address !== "string" || typeof prefix !== "string") return null;
        if (NON_ASCII.test(address) || NON_ASCII.test(prefix)) return false;
        if (address.length > LITERAL_MAX || prefix.length > LITERAL_MAX) return false;
        return native.isInNetEx(address, prefix);
    };

    // IPv6 addresses first, then IPv4, each ascending; the entries keep their own spelling.
    // `false` for an empty list or any entry that is not an IP literal.
    g.sortIpAddressList = function sortIpAddressList(list) {
        if (typeof list !== "string" || NON_ASCII.test(list)) return null;
        var parts = list.replace(/[ \t]/g, "").split(";");
        var entries = [];
        for (var i = 0; i < parts.length; i++) {
            if (parts[i] === "") continue;
            var key = parts[i].length <= LITERAL_MAX ? native.ipSortKey(parts[i]) : null;
            if (key == null) return false;
            entries.push({ text: parts[i], key: key });
        }
        if (entries.length === 0) return false;
        // Array.prototype.sort is stable: equal addresses keep their order.
        entries.sort(function (a, b) {
            return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
        });
        return entries.map(function (e) {
            return e.text;
        }).join(";");
    };

    g.alert = function alert(message) {
        native.alert(String(message));
    };
})(globalThis.__proxyscope_pac);
delete globalThis.__proxyscope_pac;
