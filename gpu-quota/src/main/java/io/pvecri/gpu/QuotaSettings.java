package io.pvecri.gpu;

/**
 * How a container's GPU share is enforced.
 *
 * @param policy          what a violation does
 * @param violationWindow how many consecutive samples above the share make one violation (1..1000)
 */
public record QuotaSettings(QuotaPolicy policy, int violationWindow) {

    public static final int MAX_WINDOW = 1000;

    /** Warn after 3 consecutive samples over the share. */
    public static final QuotaSettings DEFAULT = new QuotaSettings(QuotaPolicy.WARN, 3);

    public QuotaSettings {
        if (policy == null) {
            throw new IllegalArgumentException("policy is required");
        }
        if (violationWindow < 1 || violationWindow > MAX_WINDOW) {
            throw new IllegalArgumentException("violation window must be 1.." + MAX_WINDOW + ", got " + violationWindow);
        }
    }
}
