//! The nftables rules of every network and published port, kept in one table
//! (`ip berth`) that is rendered whole from the daemon's state and swapped in one
//! transaction: after any change, and at start-up (which also drops the rules of
//! whatever is gone), the kernel holds exactly what the state says.
//!
//! - nat `prerouting` / `output`: packets to a local address (`fib daddr type local`) on
//!   a published port are DNATed to the container; `output` covers connections from the
//!   host itself, 127.0.0.1 included (`route_localnet` is set on each bridge so the
//!   kernel routes those, and they are masqueraded so the reply comes back).
//! - nat `postrouting`: outbound masquerade per non-internal network; hairpin masquerade
//!   for DNATed traffic from a network to itself.
//! - filter `forward`: DNATed (published) traffic passes; a network's packets never
//!   reach another network's bridge; an internal network's never leave its bridge.
//!
//! Isolation between containers on one bridge (icc off) is done in the bridge (isolated
//! ports), not here: bridged frames do not pass the ip hooks.

use std::borrow::Cow;
use std::collections::HashSet;

use ipnet::Ipv4Net;
use nftables::batch::Batch;
use nftables::expr::{Expression, Fib, FibFlag, FibResult, Meta, MetaKey, NamedExpression, Payload, PayloadField, Prefix, SetItem, CT};
use nftables::schema::{Chain, NfListObject, Rule, Table};
use nftables::stmt::{JumpTarget, Match, Operator, Statement, NAT};
use nftables::types::{NfChainPolicy, NfChainType, NfFamily, NfHook};

use crate::error::{NetworkError, Result};
use crate::ports::PortMapping;

pub const TABLE: &str = "berth";

/// What the rules are made from.
#[derive(Debug, Clone)]
pub struct BridgeRules {
    pub bridge: String,
    pub subnet: Ipv4Net,
    pub internal: bool,
    pub masquerade: bool,
}

fn s(v: impl Into<String>) -> Expression<'static> {
    Expression::String(Cow::Owned(v.into()))
}
fn meta(key: MetaKey) -> Expression<'static> {
    Expression::Named(NamedExpression::Meta(Meta { key }))
}
fn field(protocol: &'static str, f: &'static str) -> Expression<'static> {
    Expression::Named(NamedExpression::Payload(Payload::PayloadField(PayloadField {
        protocol: protocol.into(),
        field: f.into(),
    })))
}
fn prefix(net: &Ipv4Net) -> Expression<'static> {
    Expression::Named(NamedExpression::Prefix(Prefix {
        addr: Box::new(s(net.network().to_string())),
        len: u32::from(net.prefix_len()),
    }))
}
fn is(left: Expression<'static>, op: Operator, right: Expression<'static>) -> Statement<'static> {
    Statement::Match(Match { left, right, op })
}
fn eq(left: Expression<'static>, right: Expression<'static>) -> Statement<'static> {
    is(left, Operator::EQ, right)
}
fn local_daddr() -> Statement<'static> {
    eq(
        Expression::Named(NamedExpression::Fib(Fib { result: FibResult::Type, flags: [FibFlag::Daddr].into_iter().collect() })),
        s("local"),
    )
}
fn ct_status_dnat() -> Statement<'static> {
    // `ct status dnat`: a bit test, written as `ct status & dnat == dnat` would be; nft's
    // JSON takes the flag as the right side of an `in` match.
    is(
        Expression::Named(NamedExpression::CT(CT { key: "status".into(), family: None, dir: None })),
        Operator::IN,
        s("dnat"),
    )
}
fn masquerade() -> Statement<'static> {
    Statement::Masquerade(None)
}

fn chain(name: &'static str, hook: Option<(NfChainType, NfHook, i32)>) -> NfListObject<'static> {
    let mut c = Chain { family: NfFamily::IP, table: TABLE.into(), name: name.into(), ..Default::default() };
    if let Some((t, h, p)) = hook {
        c._type = Some(t);
        c.hook = Some(h);
        c.prio = Some(p);
        c.policy = Some(NfChainPolicy::Accept);
    }
    NfListObject::Chain(c)
}

fn rule(chain: &'static str, expr: Vec<Statement<'static>>) -> NfListObject<'static> {
    NfListObject::Rule(Rule { family: NfFamily::IP, table: TABLE.into(), chain: chain.into(), expr: expr.into(), ..Default::default() })
}

/// The whole table for these bridges and mappings, as one nft transaction that first
/// removes the old table (adding it first, so the delete cannot fail on a fresh host).
pub fn render(bridges: &[BridgeRules], ports: &[PortMapping]) -> Batch<'static> {
    let mut b = Batch::new();
    let table = || NfListObject::Table(Table { family: NfFamily::IP, name: TABLE.into(), handle: None });
    b.add(table());
    b.delete(table());
    b.add(table());
    b.add(chain("prerouting", Some((NfChainType::NAT, NfHook::Prerouting, -100))));
    b.add(chain("output", Some((NfChainType::NAT, NfHook::Output, -100))));
    b.add(chain("postrouting", Some((NfChainType::NAT, NfHook::Postrouting, 100))));
    b.add(chain("forward", Some((NfChainType::Filter, NfHook::Forward, 0))));
    b.add(chain("ports", None));
    let jump = || Statement::Jump(JumpTarget { target: "ports".into() });
    b.add(rule("prerouting", vec![local_daddr(), jump()]));
    b.add(rule("output", vec![local_daddr(), jump()]));
    for p in ports {
        let mut e = Vec::new();
        if let Some(ip) = p.host_ip {
            e.push(eq(field("ip", "daddr"), s(ip.to_string())));
        }
        e.push(eq(field(p.proto.as_str(), "dport"), Expression::Number(u32::from(p.host_port))));
        e.push(Statement::DNAT(Some(NAT {
            addr: Some(s(p.container_ip.to_string())),
            family: None,
            port: Some(Expression::Number(u32::from(p.container_port))),
            flags: None,
        })));
        b.add(rule("ports", e));
    }
    b.add(rule("forward", vec![ct_status_dnat(), Statement::Accept(None)]));
    let all: HashSet<&str> = bridges.iter().map(|n| n.bridge.as_str()).collect();
    for n in bridges {
        let br = || s(n.bridge.clone());
        let lo: Ipv4Net = "127.0.0.0/8".parse().expect("a valid prefix");
        b.add(rule("postrouting", vec![eq(meta(MetaKey::Oifname), br()), eq(field("ip", "saddr"), prefix(&lo)), masquerade()]));
        b.add(rule("postrouting", vec![eq(meta(MetaKey::Oifname), br()), ct_status_dnat(), eq(field("ip", "saddr"), prefix(&n.subnet)), masquerade()]));
        if n.masquerade && !n.internal {
            b.add(rule(
                "postrouting",
                vec![eq(field("ip", "saddr"), prefix(&n.subnet)), is(meta(MetaKey::Oifname), Operator::NEQ, br()), masquerade()],
            ));
        }
        if n.internal {
            b.add(rule("forward", vec![eq(meta(MetaKey::Iifname), br()), is(meta(MetaKey::Oifname), Operator::NEQ, br()), Statement::Drop(None)]));
            b.add(rule("forward", vec![eq(meta(MetaKey::Oifname), br()), is(meta(MetaKey::Iifname), Operator::NEQ, br()), Statement::Drop(None)]));
        }
        let others: Vec<SetItem<'static>> =
            all.iter().filter(|o| **o != n.bridge).map(|o| SetItem::Element(s(o.to_string()))).collect();
        if !others.is_empty() {
            b.add(rule(
                "forward",
                vec![eq(meta(MetaKey::Iifname), br()), eq(meta(MetaKey::Oifname), Expression::Named(NamedExpression::Set(others))), Statement::Drop(None)],
            ));
        }
    }
    b
}

/// Swaps the table in (one `nft -j -f -` run).
pub fn apply(bridges: &[BridgeRules], ports: &[PortMapping]) -> Result<()> {
    let nft = render(bridges, ports).to_nftables();
    nftables::helper::apply_ruleset(&nft).map_err(|e| NetworkError::Firewall(e.to_string()))
}

/// Removes the table (daemon shutdown with nothing left, or tests).
pub fn remove() -> Result<()> {
    let mut b = Batch::new();
    let table = || NfListObject::Table(Table { family: NfFamily::IP, name: TABLE.into(), handle: None });
    b.add(table());
    b.delete(table());
    nftables::helper::apply_ruleset(&b.to_nftables()).map_err(|e| NetworkError::Firewall(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Proto;

    #[test]
    fn renders_one_dnat_per_port_and_isolation_per_bridge() {
        let bridges = vec![
            BridgeRules { bridge: "a".into(), subnet: "10.1.0.0/16".parse().unwrap(), internal: false, masquerade: true },
            BridgeRules { bridge: "b".into(), subnet: "10.2.0.0/16".parse().unwrap(), internal: true, masquerade: true },
        ];
        let ports = vec![PortMapping {
            proto: Proto::Udp,
            host_ip: None,
            host_port: 5353,
            container_ip: "10.1.0.2".parse().unwrap(),
            container_port: 53,
        }];
        let json = serde_json::to_string(&render(&bridges, &ports).to_nftables()).unwrap();
        assert!(json.contains(r#""dnat":{"addr":"10.1.0.2","port":53}"#), "{json}");
        assert!(json.contains(r#""protocol":"udp","field":"dport""#), "{json}");
        // Internal network b: drops both ways; a and b isolated from each other.
        assert_eq!(json.matches(r#""drop":null"#).count(), 4, "{json}");
        // Masquerade outbound only for a (b is internal), plus loopback and hairpin each.
        assert_eq!(json.matches(r#""masquerade":null"#).count(), 5, "{json}");
    }
}
