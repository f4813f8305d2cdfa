use std::rc::Rc;
use std::sync::Arc;

use mapreduce::apps::external::{encode_records, parse_records, External};
use mapreduce::{apps, App, AppError, Coroutine, Got, KeyValue, Need, Step};

type MapCall = Coroutine<Result<Vec<KeyValue>, AppError>>;

fn map_call(app: Rc<dyn App>, file: &str, text: &str) -> MapCall {
    let (file, contents): (String, Arc<[u8]>) = (file.into(), Arc::from(text.as_bytes()));
    Coroutine::new(move |env| app.map(env, file, contents))
}

fn lab(name: &str) -> Rc<dyn App> {
    apps::by_name(name).expect("a lab application")
}

#[test]
fn every_lab_application_is_known_by_name() {
    for name in apps::NAMES {
        assert_eq!(lab(name).name(), name);
    }
    assert!(apps::by_name("wc.so").is_none());
}

#[test]
fn wc_splits_on_everything_but_letters() {
    let mut m = map_call(lab("wc"), "f", "Don't stop--2 believin'");
    let Step::Done(Ok(kvs)) = m.resume(None) else {
        panic!("wc asks for nothing")
    };
    let words: Vec<&str> = kvs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(words, ["Don", "t", "stop", "believin"]);
}

#[test]
fn mtiming_announces_itself_counts_live_mappers_and_sleeps_a_second() {
    let mut m = map_call(lab("mtiming"), "f", "");
    let mut dir = super::MemDir::with(&[("mr-worker-map-7", "x"), ("mr-worker-map-8", "x")]);
    assert_eq!(m.resume(None), Step::Need(Need::Now));
    assert_eq!(m.resume(Some(Got::Time(12_345))), Step::Need(Need::Pid));
    assert_eq!(m.resume(Some(Got::Pid(5))), Step::Need(Need::Pid));
    let Step::Need(w @ Need::WriteFile { .. }) = m.resume(Some(Got::Pid(5))) else {
        panic!()
    };
    assert_eq!(
        w,
        Need::WriteFile {
            path: "mr-worker-map-5".into(),
            bytes: b"x".to_vec()
        }
    );
    let mut got = dir.answer(&w);
    assert_eq!(m.resume(got.take()), Step::Need(Need::ListDir));
    let names = dir.answer(&Need::ListDir);
    // Markers of 5, 7 and 8, in directory order; 8 is dead.
    assert_eq!(m.resume(names), Step::Need(Need::Alive(5)));
    assert_eq!(m.resume(Some(Got::Alive(true))), Step::Need(Need::Alive(7)));
    assert_eq!(m.resume(Some(Got::Alive(true))), Step::Need(Need::Alive(8)));
    assert_eq!(
        m.resume(Some(Got::Alive(false))),
        Step::Need(Need::Sleep(1000))
    );
    let rm = Need::RemoveFile {
        path: "mr-worker-map-5".into(),
    };
    assert_eq!(m.resume(Some(Got::Done(Ok(())))), Step::Need(rm.clone()));
    let Step::Done(Ok(kvs)) = m.resume(dir.answer(&rm)) else {
        panic!()
    };
    assert_eq!(
        kvs,
        vec![
            ("times-5".into(), "12.3".into()),
            ("parallel-5".into(), "2".into())
        ]
    );
}

#[test]
fn crash_crashes_below_330_sleeps_below_660_and_else_maps_at_once() {
    let mut m = map_call(lab("crash"), "f", "");
    assert_eq!(m.resume(None), Step::Need(Need::Random(1000)));
    assert_eq!(m.resume(Some(Got::Random(329))), Step::Need(Need::Crash));

    let mut m = map_call(lab("crash"), "f", "");
    m.resume(None);
    assert_eq!(
        m.resume(Some(Got::Random(330))),
        Step::Need(Need::Random(10_000))
    );
    assert_eq!(
        m.resume(Some(Got::Random(4321))),
        Step::Need(Need::Sleep(4321))
    );
    let Step::Done(Ok(kvs)) = m.resume(Some(Got::Done(Ok(())))) else {
        panic!()
    };
    assert_eq!(kvs[1], ("b".to_string(), "1".to_string()));

    let mut m = map_call(lab("crash"), "../pg-x.txt", "abcd");
    m.resume(None);
    let Step::Done(Ok(kvs)) = m.resume(Some(Got::Random(660))) else {
        panic!()
    };
    let want: Vec<KeyValue> = [
        ("a", "../pg-x.txt"),
        ("b", "11"),
        ("c", "4"),
        ("d", "xyzzy"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(kvs, want);
}

#[test]
fn jobcount_leaves_one_marker_per_call_and_sleeps_two_to_five_seconds() {
    let mut m = map_call(lab("jobcount"), "f", "");
    let mut dir = super::MemDir::with(&[("mr-worker-jobcount-9-0", "x")]);
    assert_eq!(m.resume(None), Step::Need(Need::Pid));
    assert_eq!(m.resume(Some(Got::Pid(9))), Step::Need(Need::ListDir));
    let w = Need::WriteFile {
        path: "mr-worker-jobcount-9-1".into(),
        bytes: b"x".to_vec(),
    };
    assert_eq!(m.resume(dir.answer(&Need::ListDir)), Step::Need(w.clone()));
    assert_eq!(m.resume(dir.answer(&w)), Step::Need(Need::Random(3000)));
    assert_eq!(
        m.resume(Some(Got::Random(2999))),
        Step::Need(Need::Sleep(4999))
    );
}

#[test]
fn external_map_runs_the_mapper_with_the_file_on_stdin_and_reads_records() {
    let ext = External {
        mapper: vec!["python3".into(), "wc.py".into(), "map".into()],
        reducer: vec!["python3".into(), "wc.py".into(), "reduce".into()],
    };
    let mut m = map_call(Rc::new(ext), "in.txt", "a b");
    let Step::Need(Need::RunCommand { argv, vars, stdin }) = m.resume(None) else {
        panic!()
    };
    assert_eq!(argv, ["python3", "wc.py", "map"]);
    assert_eq!(vars, [("MR_INPUT_FILE".to_string(), "in.txt".to_string())]);
    assert_eq!(stdin, b"a b");
    let out: Arc<[u8]> = Arc::from(&b"a\t1\nb\t1\nlonely\n"[..]);
    let Step::Done(Ok(kvs)) = m.resume(Some(Got::Bytes(Ok(out)))) else {
        panic!()
    };
    assert_eq!(kvs[2], ("lonely".to_string(), String::new()));
    assert_eq!(
        encode_records(kvs.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        b"a\t1\nb\t1\nlonely\t\n"
    );
}

#[test]
fn external_output_that_is_not_utf8_is_an_error_naming_program_and_line() {
    let err = parse_records("mapper.sh", b"ok\t1\n\xff\n").unwrap_err();
    assert_eq!(err.to_string(), "mapper.sh: output line 2: not UTF-8");
}
