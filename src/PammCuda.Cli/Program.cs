Console.WriteLine("pamm: not yet");
