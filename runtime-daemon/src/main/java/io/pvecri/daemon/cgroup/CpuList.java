package io.pvecri.daemon.cgroup;

/** The kernel's CPU/NUMA-node list syntax, as in {@code cpuset.cpus}: {@code 0-3,6,8-9}. */
final class CpuList {

    private CpuList() {
    }

    /** Whether {@code list} is a non-empty, well-formed list with ascending ranges. */
    static boolean isValid(String list) {
        return count(list) >= 0;
    }

    /** How many ids {@code list} names, or -1 if it is malformed or empty. */
    static int count(String list) {
        if (list == null || list.isEmpty()) {
            return -1;
        }
        long total = 0;
        for (String item : list.split(",", -1)) {
            int dash = item.indexOf('-');
            long low = parseId(dash < 0 ? item : item.substring(0, dash));
            long high = dash < 0 ? low : parseId(item.substring(dash + 1));
            if (low < 0 || high < low) {
                return -1;
            }
            total += high - low + 1;
        }
        return total > Integer.MAX_VALUE ? -1 : (int) total;
    }

    private static long parseId(String text) {
        if (text.isEmpty() || text.length() > 9) {
            return -1;
        }
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) < '0' || text.charAt(i) > '9') {
                return -1;
            }
        }
        return Long.parseLong(text);
    }
}
