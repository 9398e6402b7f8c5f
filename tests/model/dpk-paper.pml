/* The paper's PSK distribution (dpk-paper.txt section 3.2, Fig. 3), as
 * written: Needham-Schroeder public key plus a session key Ks signed by the
 * initiator.
 *
 *   M1  A -> B : {Na, A}PuB
 *   M2  B -> A : {Na, Nb}PuA
 *   M3  A -> B : {Nb}PuB
 *   M4  A -> B : {Nb, {Ks}PrA}PuB          B takes Ks as the PSK with A
 *
 * Honest A (one run, with a partner of its choice: B or the intruder I),
 * honest B (one run, responder), and an intruder I that is also a registered
 * device (Lowe's setting). See README.md for what the model abstracts and how
 * to read the trail spin prints for the attack it finds. */

mtype = {
	none,
	M1, M2, M3, M4,         /* message kinds */
	A, B, I,                /* identities; X as a key field means "encrypted to PuX" */
	Na, Nb, Ni,             /* nonces of A, B and the intruder */
	KsA, KsI                /* session keys made by A and by the intruder */
};

/* kind, key (whose public key encrypts it), then the fields:
 *   M1: id, nonce   M2: nonce, nonce   M3: nonce   M4: nonce, signer, Ks */
chan net = [0] of { mtype, mtype, mtype, mtype, mtype };

mtype partnerA = none, partnerB = none;  /* who each honest agent believes it talks to */
bool doneB = false;                      /* B accepted a Ks */
mtype keyB = none;                       /* the Ks B accepted */
mtype waitA = none, waitB = none;        /* the message kind each honest agent waits for
                                          * (cleared in the same atomic step as the receive) */

/* the intruder's knowledge of honest secrets, and its one stored ciphertext */
bool kNa = false, kNb = false, kKsA = false, kSigA = false;
mtype sKind = none, sKey = none, s1, s2, s3;

/* Safety properties, checked in every reachable state (a monitor process).
 * spin -DCHECK_AGREEMENT or -DCHECK_SECRECY checks one; by default both. */
#if !defined(CHECK_AGREEMENT) && !defined(CHECK_SECRECY)
#define CHECK_AGREEMENT
#define CHECK_SECRECY
#endif
active proctype Monitor()
{
#ifdef CHECK_AGREEMENT
	/* B accepted a key "with A" only if A ran the protocol with B */
	assert(!doneB || partnerB != A || partnerA == B);
#endif
#ifdef CHECK_SECRECY
	/* B's nonce for A, and a key B accepted "with A", stay unknown to I */
	assert(partnerB != A || !kNb);
	assert(!doneB || partnerB != A || !(keyB == KsA && kKsA) && keyB != KsI);
#endif
}

active proctype Initiator()
{
	mtype n1, n2;

	if
	:: partnerA = B
	:: partnerA = I                      /* A willingly talks to a registered device */
	fi;
	net ! M1, partnerA, Na, A, none;
	waitA = M2;
end_m2:
	atomic { net ? M2, A, n1, n2, _; waitA = none };
	if
	:: n1 != Na -> goto stop
	:: else
	fi;
	net ! M3, partnerA, n2, none, none;
	/* step 7: Ks signed with PrA, sent with N2 under PuB */
	net ! M4, partnerA, n2, A, KsA;
stop:
	skip
}

active proctype Responder()
{
	mtype id, n, ks, signer;

	waitB = M1;
end_m1:
	atomic { net ? M1, B, n, id, _; waitB = none };
	partnerB = id;
	net ! M2, id, n, Nb, none;
	waitB = M3;
end_m3:
	atomic { net ? M3, B, n, _, _; waitB = none };
	if
	:: n != Nb -> goto stop
	:: else
	fi;
	waitB = M4;
end_m4:
	atomic { net ? M4, B, n, signer, ks; waitB = none };
	if
	:: n == Nb && signer == partnerB ->
		keyB = ks;
		doneB = true
	:: else
	fi;
stop:
	skip
}

/* Learn an atom found in a message decrypted with the intruder's key. */
inline learn(v)
{
	if
	:: v == Na -> kNa = true
	:: v == Nb -> kNb = true
	:: v == KsA -> kKsA = true
	:: else
	fi
}

/* Any nonce the intruder knows / any session key it knows. */
inline pick_nonce(v)
{
	if
	:: v = Ni
	:: kNa -> v = Na
	:: kNb -> v = Nb
	fi
}

inline pick_key(v)
{
	if
	:: v = KsI
	:: kKsA -> v = KsA
	fi
}

/* Dolev-Yao over atoms: reads every message, decrypts what is encrypted to
 * it, replays what it cannot read, composes new messages from what it knows
 * (to the agent waiting for that kind, so a composed message is always taken),
 * signs as I but never as A, and replays A's signature only as a whole. */
active proctype Intruder()
{
	mtype kind, key, x1, x2, x3, id;

end:
	do
	:: net ? kind, key, x1, x2, x3 ->
		if
		:: key == I ->
			learn(x1); learn(x2); learn(x3);
			if
			:: kind == M4 && x2 == A -> kSigA = true   /* {KsA}PrA, readable by anyone with PuA */
			:: else
			fi
		:: else ->
			atomic { sKind = kind; sKey = key; s1 = x1; s2 = x2; s3 = x3 }
		fi
	:: atomic { sKind != none && ((sKey == A && waitA == sKind) || (sKey == B && waitB == sKind)) ->
		net ! sKind, sKey, s1, s2, s3 }
	:: atomic { waitB == M1 ->
		if
		:: id = A
		:: id = I
		fi;
		pick_nonce(x1);
		net ! M1, B, x1, id, none }
	:: atomic { waitA == M2 -> pick_nonce(x1); pick_nonce(x2); net ! M2, A, x1, x2, none }
	:: atomic { waitB == M3 -> pick_nonce(x1); net ! M3, B, x1, none, none }
	:: atomic { waitB == M4 ->
		pick_nonce(x1);
		if
		:: pick_key(x3); net ! M4, B, x1, I, x3
		:: kSigA -> net ! M4, B, x1, A, KsA
		fi }
	od
}
