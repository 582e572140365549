package io.pvecri.daemon.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Minimal GNU-style flag parsing: {@code --flag value}, {@code --flag=value}, boolean
 * {@code --switch}, positionals.
 */
final class Args {
    final Map<String, String> flags = new HashMap<>();
    final Set<String> switches = new HashSet<>();
    final List<String> positional = new ArrayList<>();
    boolean help;

    static Args parse(List<String> argv, Set<String> valueFlags) throws UsageException {
        return parse(argv, valueFlags, Set.of());
    }

    static Args parse(List<String> argv, Set<String> valueFlags, Set<String> booleanFlags) throws UsageException {
        Args a = new Args();
        for (int i = 0; i < argv.size(); i++) {
            String s = argv.get(i);
            if (s.equals("-h") || s.equals("--help")) {
                a.help = true;
            } else if (s.startsWith("--")) {
                String name = s.substring(2);
                String value = null;
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    value = name.substring(eq + 1);
                    name = name.substring(0, eq);
                }
                if (booleanFlags.contains(name)) {
                    if (value != null) {
                        throw new UsageException("flag --" + name + " takes no value");
                    }
                    a.switches.add(name);
                    continue;
                }
                if (!valueFlags.contains(name)) {
                    throw new UsageException("unknown flag --" + name);
                }
                if (value == null) {
                    if (i + 1 >= argv.size()) {
                        throw new UsageException("flag --" + name + " needs a value");
                    }
                    value = argv.get(++i);
                }
                a.flags.put(name, value);
            } else {
                a.positional.add(s);
            }
        }
        return a;
    }

    static final class UsageException extends Exception {
        UsageException(String m) {
            super(m);
        }
    }
}
