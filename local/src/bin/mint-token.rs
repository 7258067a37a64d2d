//! `make token [ROLE=…] [STORES=a,b] [SUB=…] [TTL=seconds]`: prints a development token signed
//! with the local issuer's RS256 key (`LOCAL_OIDC_KEY`), or with `--hs256` the symmetric key
//! `JWT_HS256_SECRET` (for a gateway configured with it, as the reliability runs are).

fn main() {
    let mut role = "supervisor".to_owned();
    let mut stores = "store-1".to_owned();
    let mut sub = None;
    let mut ttl: u64 = 3600;
    let mut signing = local_gateway::DevSigning::Rs256;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--hs256" {
            signing = local_gateway::DevSigning::Hs256;
            continue;
        }
        let value = args
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--role" => role = value,
            "--stores" => stores = value,
            "--sub" => sub = Some(value),
            "--ttl" => {
                ttl = value
                    .parse()
                    .unwrap_or_else(|_| usage("--ttl takes seconds"))
            }
            other => usage(&format!("unknown option {other}")),
        }
    }
    if shared::auth::principal::Role::parse(&role).is_none() {
        usage("--role is associate, supervisor or admin");
    }
    let stores: Vec<String> = stores.split(',').map(str::to_owned).collect();
    let sub = sub.unwrap_or_else(|| format!("dev-{role}"));
    match local_gateway::dev_token(&sub, &role, &stores, ttl, signing) {
        Ok(token) => println!("{token}"),
        Err(error) => usage(&error),
    }
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "mint-token: {problem}\nusage: mint-token [--role associate|supervisor|admin] [--stores a,b] [--sub id] [--ttl seconds] [--hs256]"
    );
    std::process::exit(2)
}
