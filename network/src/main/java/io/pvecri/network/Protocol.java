package io.pvecri.network;

/** Transport protocol of a hostPort mapping (CRI's Protocol enum). */
public enum Protocol {
    TCP, UDP, SCTP;

    /** Lower-case name as nftables and CNI's portMappings spell it. */
    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
