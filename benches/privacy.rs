//! Cost of sealing and indexing one inbound text, beside a bare HMAC-SHA256 measured in the
//! same run as the ceiling. Run with `cargo bench --bench privacy`.

use std::hint::black_box;
use std::time::Instant;

use textline::privacy::MasterKey;
use textline::privacy::phone::PhoneNumber;
use textline::privacy::vault::{Field, Vault};

const ROUNDS: u32 = 20_000;
const BODY: &str = "they took my passport and I cannot leave the house, please help me";

fn main() {
    let vault = Vault::new(MasterKey::generate());
    let number = PhoneNumber::from_provider("+14155550123").expect("a valid number");
    let contact = vault.seal_new_contact(&number);
    let index_key = MasterKey::generate().derive(textline::privacy::KeyPurpose::BlindIndex);

    let ceiling = time(|| {
        black_box(index_key.mac(number.expose().as_bytes()));
    });
    let known_contact = time(|| {
        let indexes = vault.blind_indexes(&number);
        let key = vault.contact_key(&contact.wrapped_key).expect("opens");
        black_box((indexes, key.seal(Field::MessageBody, BODY.as_bytes())));
    });
    let new_contact = time(|| {
        let indexes = vault.blind_indexes(&number);
        let sealed = vault.seal_new_contact(&number);
        black_box((
            indexes,
            sealed.key.seal(Field::MessageBody, BODY.as_bytes()),
        ));
    });

    println!("privacy bench, {ROUNDS} rounds each, one thread");
    println!("  bare HMAC-SHA256 of a number (ceiling): {ceiling:>8.2} us");
    println!(
        "  index + open data key + seal body:      {known_contact:>8.2} us ({:.1}x)",
        known_contact / ceiling
    );
    println!(
        "  index + new contact (key, number) + seal body: {new_contact:>8.2} us ({:.1}x)",
        new_contact / ceiling
    );
}

/// Microseconds per call of `work`, after a warm-up.
fn time(mut work: impl FnMut()) -> f64 {
    for _ in 0..ROUNDS / 10 {
        work();
    }
    let started = Instant::now();
    for _ in 0..ROUNDS {
        work();
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS)
}
