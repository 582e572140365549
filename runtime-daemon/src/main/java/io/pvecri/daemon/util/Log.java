package io.pvecri.daemon.util;

import java.time.Instant;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Structured logging: one line per event, {@code <time> <LEVEL> <event> key=value ...}, on
 * stderr. Built on java.util.logging so gRPC's and Netty's own records land in the same stream.
 */
public final class Log {
    private final Logger logger;
    /** Loggers whose level we set; kept here because java.util.logging holds loggers weakly. */
    private static final java.util.List<Logger> TUNED = new java.util.concurrent.CopyOnWriteArrayList<>();

    private Log(Logger logger) {
        this.logger = logger;
    }

    public static Log get(Class<?> owner) {
        return new Log(Logger.getLogger(owner.getName()));
    }

    /** Installs the one-line formatter on the root logger; {@code level} is debug/info/warn/error. */
    public static void configure(String level) {
        Logger root = Logger.getLogger("");
        for (Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        Handler handler = new ConsoleHandler();
        handler.setFormatter(new LineFormatter());
        handler.setLevel(Level.ALL);
        root.addHandler(handler);
        root.setLevel(parseLevel(level));
        // Netty and gRPC are chatty at FINE; keep them at INFO unless asked for debug.
        if (!"debug".equals(level)) {
            tune("io.netty", Level.INFO);
            tune("io.grpc", Level.INFO);
        }
        // gRPC asks for SO_KEEPALIVE, which unix sockets lack; Netty would warn per connection.
        tune("io.netty.bootstrap", Level.SEVERE);
    }

    private static void tune(String name, Level level) {
        Logger l = Logger.getLogger(name);
        l.setLevel(level);
        TUNED.add(l);
    }

    public static Level parseLevel(String level) {
        return switch (level) {
            case "debug" -> Level.FINE;
            case "info" -> Level.INFO;
            case "warn" -> Level.WARNING;
            case "error" -> Level.SEVERE;
            default -> throw new IllegalArgumentException("unknown log level '" + level + "' (debug, info, warn, error)");
        };
    }

    public void debug(String event, Object... kv) {
        log(Level.FINE, event, null, kv);
    }

    public void info(String event, Object... kv) {
        log(Level.INFO, event, null, kv);
    }

    public void warn(String event, Object... kv) {
        log(Level.WARNING, event, null, kv);
    }

    public void warn(String event, Throwable t, Object... kv) {
        log(Level.WARNING, event, t, kv);
    }

    public void error(String event, Throwable t, Object... kv) {
        log(Level.SEVERE, event, t, kv);
    }

    private void log(Level level, String event, Throwable t, Object... kv) {
        if (!logger.isLoggable(level)) {
            return;
        }
        StringBuilder sb = new StringBuilder(event);
        for (int i = 0; i + 1 < kv.length; i += 2) {
            sb.append(' ').append(kv[i]).append('=').append(quote(String.valueOf(kv[i + 1])));
        }
        if (t != null) {
            sb.append(" error=").append(quote(String.valueOf(t.getMessage())));
        }
        LogRecord record = new LogRecord(level, sb.toString());
        record.setLoggerName(logger.getName());
        if (t != null && level == Level.SEVERE) {
            record.setThrown(t);
        }
        logger.log(record);
    }

    static String quote(String v) {
        boolean plain = !v.isEmpty() && v.chars().allMatch(c -> c > ' ' && c != '"' && c != '=' && c < 127);
        if (plain) {
            return v;
        }
        return '"' + v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + '"';
    }

    private static final class LineFormatter extends Formatter {
        @Override
        public String format(LogRecord r) {
            String level = switch (r.getLevel().intValue()) {
                case 1000 -> "ERROR";
                case 900 -> "WARN";
                case 800 -> "INFO";
                default -> "DEBUG";
            };
            StringBuilder sb = new StringBuilder()
                    .append(Instant.ofEpochMilli(r.getMillis())).append(' ')
                    .append(level).append(' ')
                    .append(formatMessage(r));
            if (!r.getLoggerName().startsWith("io.pvecri")) {
                sb.append(" logger=").append(r.getLoggerName());
            }
            sb.append('\n');
            if (r.getThrown() != null) {
                java.io.StringWriter sw = new java.io.StringWriter();
                r.getThrown().printStackTrace(new java.io.PrintWriter(sw));
                sb.append(sw);
            }
            return sb.toString();
        }
    }
}
