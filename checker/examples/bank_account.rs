//! Defining a model of one's own: a bank account, checked for linearizability.
//!
//! Run it with `cargo run -p quill-checker --example bank_account`. It walks through the three things a user
//! writes: the operations (`Input`) and what a client saw (`Output`); the sequential specification
//! (`Model::step`); and a history to check. It then prints each verdict with its evidence, and for the
//! illegal history a counterexample with its story (what `quill check --explain` prints).
//!
//! The account holds a balance. A deposit adds to it. A withdrawal takes money out only when the balance
//! covers it, and tells the client whether it did; a refused withdrawal leaves the balance unchanged, and
//! is still a completed operation that constrains the state (it says the balance was too low). A balance
//! query returns the balance.

use checker::explain::{explain, ExplainOptions};
use checker::{check, CheckResult, History, Model, Operation, Options, Verdict};

/// What a client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Input {
    Deposit(u64),
    Withdraw(u64),
    Balance,
}

/// What the client saw.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Output {
    /// A deposit's acknowledgement.
    Done,
    /// Whether a withdrawal went through.
    Withdrawn(bool),
    /// The balance a query returned.
    Balance(u64),
}

/// The sequential specification: an account that starts with `opening` in it.
struct Account {
    opening: u64,
}

impl Model for Account {
    /// The balance. A state must be `Clone + Eq + Hash`: the search memoizes (placed operations, state).
    type State = u64;
    type Input = Input;
    type Output = Output;

    fn init(&self) -> u64 {
        self.opening
    }

    /// The balance after `input` when the client saw `output`, or `None` when that output is impossible
    /// from `balance`. `output` is `None` for an operation that never got a response: it may have done
    /// whatever it would have done.
    fn step(&self, balance: &u64, input: &Input, output: Option<&Output>) -> Option<u64> {
        match (input, output) {
            (Input::Deposit(amount), _) => Some(balance + amount),
            (Input::Withdraw(amount), Some(Output::Withdrawn(false))) => {
                (balance < amount).then_some(*balance)
            }
            (Input::Withdraw(amount), Some(Output::Withdrawn(true))) => {
                balance.checked_sub(*amount)
            }
            // No response: it went through if it could.
            (Input::Withdraw(amount), None) => {
                Some(balance.checked_sub(*amount).unwrap_or(*balance))
            }
            (Input::Balance, Some(Output::Balance(seen))) => (seen == balance).then_some(*balance),
            (Input::Balance, None) => Some(*balance),
            // An output of the wrong kind for its input never happens.
            _ => None,
        }
    }

    fn describe_input(&self, input: &Input) -> String {
        match input {
            Input::Deposit(a) => format!("deposit({a})"),
            Input::Withdraw(a) => format!("withdraw({a})"),
            Input::Balance => "balance()".to_string(),
        }
    }

    fn describe_output(&self, _input: &Input, output: &Output) -> String {
        match output {
            Output::Done => String::new(),
            Output::Withdrawn(ok) => if *ok { "ok" } else { "refused" }.to_string(),
            Output::Balance(b) => b.to_string(),
        }
    }
}

/// Two clients share an account holding 100: client 1 deposits 50 while client 2 withdraws 120. The
/// withdrawal can only have gone through after the deposit, so it must overlap it or follow it.
fn history(withdraw_call: i64) -> History<Input, Output> {
    History::new(vec![
        // Operation::new(client, call time, return time, input, output)
        Operation::new(1, 0, 10, Input::Deposit(50), Output::Done),
        Operation::new(
            2,
            withdraw_call,
            withdraw_call + 5,
            Input::Withdraw(120),
            Output::Withdrawn(true),
        ),
        Operation::new(1, 20, 25, Input::Balance, Output::Balance(30)),
        // A withdrawal that never got an answer: it may or may not have happened.
        Operation::pending(3, 21, Input::Withdraw(1000)),
    ])
}

fn report(name: &str, model: &Account, history: &History<Input, Output>, result: &CheckResult) {
    println!("{name}: {} ({} µs)", result.verdict, result.micros);
    for partition in &result.partitions {
        // A linearizable history comes with its linearization: the order, and the state after each step.
        for step in &partition.linearization {
            let op = &history.operations[step.op];
            println!(
                "  {} -> balance {}",
                model.describe_input(&op.input),
                step.state
            );
        }
        // An illegal one with its longest linearizable prefixes and the operation that could not follow.
        if let Some(partial) = partition.partial.first() {
            let placed: Vec<String> = partial
                .steps
                .iter()
                .map(|s| model.describe_input(&history.operations[s.op].input))
                .collect();
            println!(
                "  longest linearizable prefix: [{}]; then op #{} cannot be placed",
                placed.join(", "),
                partial.blocking
            );
        }
    }
}

fn main() {
    let model = Account { opening: 100 };

    // The withdrawal overlaps the deposit (called at 5, before the deposit returned at 10): legal.
    let good = history(5);
    let result = check(&model, &good, &Options::default()).expect("a well-formed history");
    report("withdrawal during the deposit", &model, &good, &result);
    assert_eq!(result.verdict, Verdict::Ok);

    // The withdrawal returns (at -5) before the deposit is called (at 0): 100 cannot cover 120.
    let bad = history(-10);
    let result = check(&model, &bad, &Options::default()).expect("a well-formed history");
    report("withdrawal before the deposit", &model, &bad, &result);
    assert_eq!(result.verdict, Verdict::Illegal);

    // The smallest part of it that is already wrong, and why.
    let counterexample = explain(&model, &bad, &result, &ExplainOptions::default())
        .expect("an illegal history has an explanation");
    for line in &counterexample.story {
        println!("  {line}");
    }
    // The withdrawal of 120 from 100 came before the deposit that would have covered it: freed from real
    // time it would fit after the deposit, so the explanation keeps both.
    assert_eq!(counterexample.operations, vec![0, 1]);
    assert!(counterexample
        .story
        .iter()
        .any(|l| l.contains("Freed from real time")));
}

// `cargo test` runs the example too (`test = true` in Cargo.toml), so its assertions keep it honest.
#[test]
fn the_example_gives_its_verdicts() {
    main();
}
