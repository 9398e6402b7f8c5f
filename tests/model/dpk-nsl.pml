/* DPK's fixed PSK handshake (the paper's exchange with its flaws fixed; bytes in
 * doc/psk-protocol.md), modelled abstractly:
 *
 *   M1  A -> B : {tag1, A, Na, eA}PuB
 *   M2  B -> A : {tag2, B, Na, Nb, eB}PuA          responder identity inside (NSL)
 *   M3  A -> B : {tag3, Nb, Ks, sig_A(A, B, Na, Nb, eA, eB, Ks, transcript)}PuB
 *   M4  B -> A : MAC under the PSK (key confirmation)
 *   PSK = HKDF(Ks, DH(eA, eB), transcript)
 *
 * Same agents and intruder as dpk-paper.pml: honest A (one run, partner B or
 * the intruder I), honest B (one run), and I, a registered device with its
 * own key, nonce, ephemeral and Ks. The tags are the message kinds, checked
 * by every receiver. See README.md. */

mtype = {
	none,
	M1, M2, M3, M4,         /* message kinds = the tags */
	A, B, I,                /* identities; X as a key field means "encrypted to PuX" */
	Na, Nb, Ni,             /* nonces */
	eA, eB, eI,             /* ephemeral DH public values (their secrets never leave their owner) */
	KsA, KsI                /* session keys made by A and by the intruder */
};

/* kind, key, then ten fields:
 *   M1: id, Na, eA
 *   M2: id, Na, Nb, eB
 *   M3: Nb, Ks, then the signature: signer, A, B, Na, Nb, eA, eB, Ks
 *   M4: Ks, eA, eB (a MAC under the PSK these make: checkable, not readable;
 *       the key field only says who it is for) */
chan net = [0] of { mtype, mtype, mtype, mtype, mtype, mtype, mtype, mtype, mtype, mtype, mtype, mtype };

mtype partnerA = none, partnerB = none;  /* who each honest agent believes it talks to */
bool doneA = false, doneB = false;       /* each accepted the PSK */
mtype aNb = none, aEB = none;            /* what A received in M2 */
mtype bNa = none, bEA = none, keyB = none; /* what B received in M1 and M3 */
mtype waitA = none, waitB = none;        /* the message kind each honest agent waits for
                                          * (cleared in the same atomic step as the receive) */

/* the intruder's knowledge of honest secrets, A's signature if it saw one,
 * and its one stored message */
bool kNa = false, kNb = false, kKsA = false, kEA = false, kEB = false, kSig = false;
mtype g1, g2, g3, g4, g5, g6, g7;        /* A's signed fields: A, B, Na, Nb, eA, eB, Ks */
mtype sKind = none, sKey = none, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10;

/* Safety properties, checked in every reachable state (a monitor process).
 * spin -DCHECK_AGREEMENT or -DCHECK_SECRECY checks one; by default both. */
#if !defined(CHECK_AGREEMENT) && !defined(CHECK_SECRECY)
#define CHECK_AGREEMENT
#define CHECK_SECRECY
#endif
active proctype Monitor()
{
#ifdef CHECK_AGREEMENT
	/* B accepted "with A": A ran with B, and both hold the same nonces,
	 * ephemerals and Ks (injective: A and B run once) */
	assert(!doneB || partnerB != A ||
	    partnerA == B && bNa == Na && bEA == eA && keyB == KsA && aNb == Nb && aEB == eB);
	/* A accepted "with B": B ran with A on the same values and confirmed them */
	assert(!doneA || partnerA != B ||
	    partnerB == A && doneB && bNa == Na && bEA == eA && keyB == KsA && aNb == Nb && aEB == eB);
#endif
#ifdef CHECK_SECRECY
	/* nonces and Ks between A and B stay unknown to I */
	assert(partnerA != B || !kNa && !kKsA);
	assert(partnerB != A || !kNb);
	/* and so does the PSK: I would need Ks and one DH secret of the session */
	assert(!doneB || partnerB != A || !((keyB == KsI || keyB == KsA && kKsA) && bEA == eI));
#endif
}

active proctype Initiator()
{
	mtype id, n1, n2, e;

	if
	:: partnerA = B
	:: partnerA = I                      /* A willingly talks to a registered device */
	fi;
	net ! M1, partnerA, A, Na, eA, none, none, none, none, none, none, none;
	waitA = M2;
end_m2:
	atomic {
		net ? M2, A, id, n1, n2, e, _, _, _, _, _, _;
		waitA = none;
		if
#ifndef MUTANT_NO_NSL_CHECK
		:: id == partnerA && n1 == Na -> aNb = n2; aEB = e   /* NSL: M2 names the responder */
#else
		:: n1 == Na -> aNb = n2; aEB = e    /* the check spin-check.sh removes, to see it matter */
#endif
		:: else
		fi;
		id = 0; n1 = 0; n2 = 0; e = 0
	}
	if
	:: aNb == none -> goto stop
	:: else
	fi;
	net ! M3, partnerA, aNb, KsA, A, A, partnerA, Na, aNb, eA, aEB, KsA;
	waitA = M4;
end_m4:
	atomic {
		net ? M4, A, n1, n2, e, _, _, _, _, _, _, _;
		waitA = none;
		doneA = (n1 == KsA && n2 == eA && e == aEB);
		n1 = 0; n2 = 0; e = 0
	}
stop:
	skip
}

active proctype Responder()
{
	mtype n, ks, signer, sa, sb, sna, snb, sea, seb, sks;

	waitB = M1;
end_m1:
	atomic { net ? M1, B, partnerB, bNa, bEA, _, _, _, _, _, _, _; waitB = none };
	net ! M2, partnerB, B, bNa, Nb, eB, none, none, none, none, none, none;
	waitB = M3;
end_m3:
	atomic {
		net ? M3, B, n, ks, signer, sa, sb, sna, snb, sea, seb, sks;
		waitB = none;
		/* the signature binds both identities, both nonces, both ephemerals and Ks */
		if
		:: n == Nb && signer == partnerB && sa == partnerB && sb == B && sna == bNa && snb == Nb &&
		   sea == bEA && seb == eB && sks == ks ->
			keyB = ks;
			doneB = true
		:: else
		fi;
		n = 0; ks = 0; signer = 0; sa = 0; sb = 0; sna = 0; snb = 0; sea = 0; seb = 0; sks = 0
	}
	if
	:: doneB -> net ! M4, partnerB, keyB, bEA, eB, none, none, none, none, none, none, none
	:: else
	fi
}

/* Learn an atom found in a message decrypted with the intruder's key. */
inline learn(v)
{
	if
	:: v == Na -> kNa = true
	:: v == Nb -> kNb = true
	:: v == KsA -> kKsA = true
	:: v == eA -> kEA = true
	:: v == eB -> kEB = true
	:: else
	fi
}

inline pick_nonce(v)
{
	if
	:: v = Ni
	:: kNa -> v = Na
	:: kNb -> v = Nb
	fi
}

inline pick_eph(v)
{
	if
	:: v = eI
	:: kEA -> v = eA
	:: kEB -> v = eB
	fi
}

inline pick_key(v)
{
	if
	:: v = KsI
	:: kKsA -> v = KsA
	fi
}

/* The intruder's scratch variables go back to 0 after each action, so that
 * states differ only in what it knows and has stored. */
#define FORGET kind = 0; key = 0; x1 = 0; x2 = 0; x3 = 0; x4 = 0; x5 = 0; x6 = 0; x7 = 0; \
	x8 = 0; x9 = 0; x10 = 0; id = 0

/* Dolev-Yao over atoms, as in dpk-paper.pml: reads every message, decrypts
 * what is encrypted to it, replays what it cannot read, composes new
 * messages from what it knows for the agent waiting for that kind, signs as
 * I but never as A, replays A's signature only with the fields A signed, and
 * makes a key confirmation only for a PSK it can compute (it knows Ks and
 * one of the ephemerals is its own). */
active proctype Intruder()
{
	mtype kind, key, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, id;

end:
	do
	:: atomic { net ? kind, key, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10 ->
		if
		:: key == I && kind != M4 ->
			learn(x1); learn(x2); learn(x3); learn(x4);
			if
			:: kind == M3 && x3 == A -> /* A's signature, kept whole */
				kSig = true; g1 = x4; g2 = x5; g3 = x6; g4 = x7; g5 = x8; g6 = x9; g7 = x10
			:: else
			fi
		:: else ->
			sKind = kind; sKey = key; s1 = x1; s2 = x2; s3 = x3; s4 = x4; s5 = x5;
			s6 = x6; s7 = x7; s8 = x8; s9 = x9; s10 = x10
		fi;
		FORGET }
	:: atomic { sKind != none && ((sKey == A && waitA == sKind) || (sKey == B && waitB == sKind)) ->
		net ! sKind, sKey, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10 }
	:: atomic { waitB == M1 ->
		if
		:: id = A
		:: id = I
		fi;
		pick_nonce(x1); pick_eph(x2);
		net ! M1, B, id, x1, x2, none, none, none, none, none, none, none;
		FORGET }
	:: atomic { waitA == M2 ->
		if
		:: id = B
		:: id = I
		fi;
		pick_nonce(x1); pick_nonce(x2); pick_eph(x3);
		net ! M2, A, id, x1, x2, x3, none, none, none, none, none, none;
		FORGET }
	:: atomic { waitB == M3 ->
		pick_nonce(x1); pick_key(x2);
		if
		:: pick_nonce(x3); pick_nonce(x4); pick_eph(x5); pick_eph(x6); pick_key(x7);
		   net ! M3, B, x1, x2, I, I, B, x3, x4, x5, x6, x7
		:: kSig -> net ! M3, B, x1, x2, A, g1, g2, g3, g4, g5, g6, g7
		fi;
		FORGET }
	:: atomic { waitA == M4 ->
		pick_key(x1);
		if                              /* one DH secret must be the intruder's own */
		:: x2 = eI; pick_eph(x3)
		:: pick_eph(x2); x3 = eI
		fi;
		net ! M4, A, x1, x2, x3, none, none, none, none, none, none, none;
		FORGET }
	od
}
