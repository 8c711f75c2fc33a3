fn main() {
    println!("deskgate: under construction");
}
