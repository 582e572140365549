package io.pvecri.network;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** An IPv4 or IPv6 prefix ({@code 10.88.0.0/16}) with the address arithmetic IPAM needs. */
record Subnet(InetAddress network, int prefix) {

    static Subnet parse(String cidr) throws NetworkException.InvalidRequest {
        int slash = cidr == null ? -1 : cidr.indexOf('/');
        if (slash < 0) {
            throw new NetworkException.InvalidRequest("'" + cidr + "' is not a CIDR (address/prefix)");
        }
        InetAddress addr = IpLiterals.parse(cidr.substring(0, slash).trim());
        int prefix;
        try {
            prefix = Integer.parseInt(cidr.substring(slash + 1).trim());
        } catch (NumberFormatException e) {
            prefix = -1;
        }
        int bits = addr == null ? 0 : addr.getAddress().length * 8;
        if (addr == null || prefix < 0 || prefix > bits) {
            throw new NetworkException.InvalidRequest("'" + cidr + "' is not a CIDR (address/prefix)");
        }
        BigInteger mask = BigInteger.ONE.shiftLeft(bits).subtract(BigInteger.ONE)
                .xor(BigInteger.ONE.shiftLeft(bits - prefix).subtract(BigInteger.ONE));
        return new Subnet(toAddress(toBig(addr).and(mask), bits / 8), prefix);
    }

    boolean isV4() {
        return IpLiterals.isV4(network);
    }

    int bits() {
        return network.getAddress().length * 8;
    }

    /** Number of addresses in the prefix. */
    BigInteger size() {
        return BigInteger.ONE.shiftLeft(bits() - prefix);
    }

    InetAddress address(BigInteger offset) {
        return toAddress(toBig(network).add(offset), bits() / 8);
    }

    BigInteger offsetOf(InetAddress a) {
        return toBig(a).subtract(toBig(network));
    }

    boolean contains(InetAddress a) {
        if (a.getAddress().length != network.getAddress().length) {
            return false;
        }
        BigInteger off = offsetOf(a);
        return off.signum() >= 0 && off.compareTo(size()) < 0;
    }

    /** First usable host address: the default gateway. */
    InetAddress firstHost() {
        return address(BigInteger.ONE);
    }

    /** Last address (IPv4 broadcast). */
    InetAddress last() {
        return address(size().subtract(BigInteger.ONE));
    }

    String cidrOf(InetAddress a) {
        return IpLiterals.format(a) + "/" + prefix;
    }

    @Override
    public String toString() {
        return IpLiterals.format(network) + "/" + prefix;
    }

    private static BigInteger toBig(InetAddress a) {
        return new BigInteger(1, a.getAddress());
    }

    private static InetAddress toAddress(BigInteger v, int len) {
        byte[] raw = v.toByteArray();
        byte[] out = new byte[len];
        int copy = Math.min(raw.length, len);
        System.arraycopy(raw, raw.length - copy, out, len - copy, copy);
        try {
            return InetAddress.getByAddress(out);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
